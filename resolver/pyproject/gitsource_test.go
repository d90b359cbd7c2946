package pyproject

import (
	"testing"

	"github.com/larder-build/larder/internal/tomldoctest"
)

func TestLoadRefusesGitSourcesThatWouldReachGitAsOptions(t *testing.T) {
	for _, tt := range []struct {
		name string
		doc  string
		want string
	}{
		{"option as URL", "[tool.uv.sources]\nfoo = { git = \"--upload-pack=touch /tmp/pwned; false\" }\n",
			`pyproject.toml:2: tool.uv.sources.foo.git: git URL "--upload-pack=touch /tmp/pwned; false": starts with '-'`},
		{"ext transport", "[tool.uv.sources.foo]\ngit = \"ext::sh -c touch% /tmp/pwned\"\n",
			`pyproject.toml:2: tool.uv.sources.foo.git: git URL "ext::sh -c touch% /tmp/pwned": git's "ext" transport runs commands; want a URL with one of the schemes https, http, ssh, git, file`},
		{"git+ prefix keeps the check", "[tool.uv.sources]\nfoo = { git = \"git+ext::sh -c x\" }\n",
			`pyproject.toml:2: tool.uv.sources.foo.git: git URL "ext::sh -c x"`},
		{"option as branch", "[tool.uv.sources]\nfoo = { git = \"https://example.org/foo\", branch = \"--upload-pack=x\" }\n",
			`pyproject.toml:2: tool.uv.sources.foo.branch: git revision "--upload-pack=x": starts with '-'`},
		{"option as tag", "[tool.uv.sources.foo]\ngit = \"https://example.org/foo\"\ntag = \"-x\"\n",
			`pyproject.toml:3: tool.uv.sources.foo.tag: git revision "-x": starts with '-'`},
		{"subdirectory out of the checkout", "[tool.uv.sources]\nfoo = { git = \"https://example.org/foo\", subdirectory = \"../../x\" }\n",
			`pyproject.toml:2: tool.uv.sources.foo.subdirectory: subdirectory "../../x": escapes the repository`},
		{"absolute subdirectory of a url source", "[tool.uv.sources]\nfoo = { url = \"https://example.org/foo.tar.gz\", subdirectory = \"/etc\" }\n",
			`pyproject.toml:2: tool.uv.sources.foo.subdirectory: subdirectory "/etc": must be a path relative to the repository`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := tomldoctest.Write(t, "pyproject.toml", tt.doc)
			_, err := Load(path)
			tomldoctest.WantError(t, err, path, tt.want)
		})
	}
}
