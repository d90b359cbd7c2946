package uvlock

import (
	"testing"

	"github.com/larder-build/larder/internal/tomldoctest"
)

func TestLoadRefusesGitSourcesThatWouldReachGitAsOptions(t *testing.T) {
	const commit = "0123456789abcdef0123456789abcdef01234567"
	for _, tt := range []struct {
		name     string
		old, new string
		want     string
	}{
		{"option as URL", `source = { registry = "https://pypi.org/simple" }`,
			`source = { git = "--upload-pack=touch /tmp/pwned; false#` + commit + `" }`,
			`uv.lock:19: package[1].source.git: parsing git source "--upload-pack=touch /tmp/pwned; false#` + commit + `": git URL "--upload-pack=touch /tmp/pwned; false": starts with '-'`},
		{"ext transport", `source = { registry = "https://pypi.org/simple" }`,
			`source = { git = "ext::sh -c touch% /tmp/pwned#` + commit + `" }`,
			`uv.lock:19: package[1].source.git: parsing git source "ext::sh -c touch% /tmp/pwned#` + commit + `": git URL "ext::sh -c touch% /tmp/pwned": git's "ext" transport runs commands; want a URL with one of the schemes https, http, ssh, git, file`},
		{"option as branch", `source = { registry = "https://pypi.org/simple" }`,
			`source = { git = "https://example.org/six?branch=--upload-pack%3Dx#` + commit + `" }`,
			`uv.lock:19: package[1].source.git: parsing git source "https://example.org/six?branch=--upload-pack%3Dx#` + commit + `": branch: git revision "--upload-pack=x": starts with '-'`},
		{"subdirectory out of the checkout", `source = { registry = "https://pypi.org/simple" }`,
			`source = { git = "https://example.org/six?subdirectory=..%2F..%2Fx#` + commit + `" }`,
			`uv.lock:19: package[1].source.git: parsing git source "https://example.org/six?subdirectory=..%2F..%2Fx#` + commit + `": subdirectory "../../x": escapes the repository`},
		{"requirement with an option as rev", `{ name = "six", specifier = ">=1.16" }`,
			`{ name = "six", git = "https://example.org/six?rev=-x" }`,
			`uv.lock:14: package[0].metadata.requires-dist[0].git: git source "https://example.org/six?rev=-x": rev: git revision "-x": starts with '-'`},
		{"requirement with an escaping subdirectory", `{ name = "six", specifier = ">=1.16" }`,
			`{ name = "six", url = "https://example.org/six.tar.gz", subdirectory = "../x" }`,
			`uv.lock:14: package[0].metadata.requires-dist[0].subdirectory: subdirectory "../x": escapes the repository`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := tomldoctest.Write(t, "uv.lock", tomldoctest.Edit(t, base, tt.old, tt.new))
			_, err := Load(path)
			tomldoctest.WantError(t, err, path, tt.want)
		})
	}
}
