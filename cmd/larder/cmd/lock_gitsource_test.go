package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/larder-build/larder/cmd/larder/config"
	"github.com/larder-build/larder/internal/gittest"
	"github.com/larder-build/larder/internal/pypitest"
)

// TestLockRefusesHostileGitSourcesInEveryInput runs larder lock on each
// kind of input with a git source that would run a command (as an option
// or through the ext transport, which the user's git configuration
// allows here), and checks that lock fails naming the file and the rule,
// and that nothing ran.
func TestLockRefusesHostileGitSourcesInEveryInput(t *testing.T) {
	gittest.New(t) // skips without git
	t.Setenv("GIT_CONFIG_COUNT", "1")
	t.Setenv("GIT_CONFIG_KEY_0", "protocol.ext.allow")
	t.Setenv("GIT_CONFIG_VALUE_0", "always")
	srv := pypitest.Start(t, smallIndex())
	const commit = "0123456789abcdef0123456789abcdef01234567"
	hostile := []struct {
		name string
		url  func(pwned string) string
	}{
		{"option", func(pwned string) string { return "--upload-pack=touch " + pwned + "; false" }},
		{"ext", func(pwned string) string { return "ext::sh -c touch% " + pwned }},
	}
	inputs := []struct {
		file string
		doc  func(url string) string
		want string
	}{
		{"pyproject.toml", func(u string) string {
			return "[project]\nname = \"app\"\nversion = \"1.0\"\ndependencies = [\"web\", \"foo\"]\n\n[tool.uv.sources]\nfoo = { git = " + tomlString(u) + " }\n"
		}, "pyproject.toml:7: tool.uv.sources.foo.git: git URL"},
		{"uv.lock", func(u string) string {
			return "version = 1\nrevision = 2\nrequires-python = \">=3.11\"\n\n[[package]]\nname = \"app\"\nversion = \"1.0\"\nsource = { editable = \".\" }\n" +
				"dependencies = [{ name = \"foo\" }]\n\n[package.metadata]\nrequires-dist = [{ name = \"foo\" }]\n\n" +
				"[[package]]\nname = \"foo\"\nversion = \"1.0\"\nsource = { git = " + tomlString(u+"#"+commit) + " }\n"
		}, "uv.lock:17: package[1].source.git: parsing git source"},
		{"pylock.toml", func(u string) string {
			return "lock-version = \"1.0\"\ncreated-by = \"test\"\n\n[[packages]]\nname = \"foo\"\n" +
				"vcs = { type = \"git\", url = " + tomlString(u) + ", commit-id = \"" + commit + "\" }\n"
		}, "pylock.toml: packages[0] (foo): git URL"},
		{"requirements.txt", func(string) string {
			// pip's syntax has no room for these URLs (a line ends at a
			// space, the scheme must be git+https and the like): the
			// option goes where pip reads the revision.
			return "web\nfoo @ git+https://127.0.0.1:1/foo.git@--upload-pack=x\n"
		}, "requirements.txt:2: git revision \"--upload-pack="},
	}
	for _, in := range inputs {
		for _, h := range hostile {
			if in.file == "requirements.txt" && h.name != "option" {
				continue
			}
			t.Run(in.file+"/"+h.name, func(t *testing.T) {
				dir := t.TempDir()
				pwned := filepath.Join(t.TempDir(), "pwned")
				t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
				writeFiles(t, dir, map[string]string{
					in.file: in.doc(h.url(pwned)),
					"larder.toml": "[project]\nrequirements = [\"" + in.file + "\"]\nlock = \"" + config.OwnLockName + "\"\n[index]\nurl = \"" + srv.URL() + "\"\n" +
						"[[target]]\nplatform = \"linux/amd64\"\npython = \"3.11\"\n",
				})
				code, _, stderr := run(t, dir, "lock")
				if _, err := os.Stat(pwned); err == nil {
					t.Fatalf("larder lock ran a command from the git source (exit %d): %s", code, stderr)
				}
				if code != 1 || !strings.Contains(stderr, in.want) {
					t.Errorf("larder lock exited %d with\n%s\nwant 1 and %q", code, stderr, in.want)
				}
				if _, err := os.Stat(filepath.Join(dir, config.OwnLockName)); err == nil {
					t.Error("a lock was written")
				}
			})
		}
	}
}

// tomlString writes s as a TOML basic string.
func tomlString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
