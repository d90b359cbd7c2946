package gitsrc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckURLAllowsOnlyPlainURLsOfKnownSchemes(t *testing.T) {
	for _, tt := range []struct {
		url  string
		want string // "" when accepted, else part of the error
	}{
		{"https://github.com/org/repo.git", ""},
		{"http://git.example.com:8080/repo", ""},
		{"ssh://git@github.com/org/repo.git", ""},
		{"ssh://git@github.com:2222/org/repo.git", ""},
		{"git://example.com/repo", ""},
		{"file:///srv/git/repo", ""},
		{"https://host/repo-with-dashes/-odd-name", ""},
		{"", "empty"},
		{"--upload-pack=touch /tmp/pwned; false", "starts with '-'"},
		{"-uhttps://x", "starts with '-'"},
		{"ext::sh -c touch% /tmp/pwned", `"ext" transport runs commands`},
		{"fd::17", `"fd" transport runs commands`},
		{"git@github.com:org/repo.git", "scp-like"},
		{"/srv/git/repo", "no scheme"},
		{"../repo", "no scheme"},
		{"ftp://host/repo", `scheme "ftp" is not allowed`},
		{"HTTPS://host/repo", `scheme "HTTPS" is not allowed`},
		{"git+https://host/repo", `scheme "git+https" is not allowed`},
		{"ssh://-oProxyCommand=touch/repo", "host starts with '-'"},
		{"ssh://-oProxyCommand=touch%20x/repo", "invalid URL escape"},
		{"ssh://-oProxyCommand=x@host/repo", "user name starts with '-'"},
		{"ssh://[-oProxyCommand=x]/repo", "invalid host"},
		{"https:///repo", "no host"},
		{"https://", "no host or path"},
		{"file://host/srv/repo", "names no host"},
		{"file://-x/repo", "host starts with '-'"},
		{"https://host/repo\x00", "control character"},
		{"https://host/repo\n--upload-pack=x", "control character"},
	} {
		err := CheckURL(tt.url)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("CheckURL(%q) = %v; want it accepted", tt.url, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("CheckURL(%q) = %v; want an error with %q", tt.url, err, tt.want)
		case tt.want != "" && !strings.Contains(err.Error(), "https, http, ssh, git, file") && strings.Contains(tt.want, "scheme"):
			t.Errorf("CheckURL(%q) = %v; want the allowed schemes named", tt.url, err)
		}
	}
}

// checkCase is an input and "" when a check accepts it, else part of the
// error it wants.
type checkCase struct {
	in   string
	want string
}

// wantChecked runs check (named fn in messages) on each input.
func wantChecked(t *testing.T, fn string, check func(string) error, tests []checkCase) {
	t.Helper()
	for _, tt := range tests {
		err := check(tt.in)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s(%q) = %v; want %q", fn, tt.in, err, tt.want)
		}
	}
}

func TestCheckRevRefusesOptionsAndRefSyntax(t *testing.T) {
	wantChecked(t, "CheckRev", CheckRev, []checkCase{
		{"", ""},
		{"main", ""},
		{"v1.2.3", ""},
		{"release/2024-01", ""},
		{"0123456789abcdef0123456789abcdef01234567", ""},
		{"--upload-pack=touch /tmp/pwned", "starts with '-'"},
		{"-b", "starts with '-'"},
		{"main:refs/heads/evil", `':'`},
		{"a b", `' '`},
		{"HEAD~1", `'~'`},
		{"a..b", "not a valid"},
		{"@{-1}", "not a valid"},
		{"refs/heads/", "not a valid"},
		{"x.lock", "not a valid"},
		{"main\x00", "control character"},
	})
}

func TestCheckSubdirectoryKeepsTheProjectInsideTheCheckout(t *testing.T) {
	wantChecked(t, "CheckSubdirectory", CheckSubdirectory, []checkCase{
		{"", ""},
		{"pkg", ""},
		{"src/pkg/", ""},
		{"./pkg", ""},
		{"pkg..name/x", ""},
		{"../../x", "escapes the repository"},
		{"pkg/../../x", "escapes the repository"},
		{"..", "escapes the repository"},
		{"/etc", "relative"},
		{`..\x`, "relative"},
		{"-rf", "starts with '-'"},
		{"pkg/--config=x", "starts with '-'"},
		{"pkg\x00", "control character"},
	})
}

func TestSourceDirRefusesALinkOutOfTheCheckout(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "pkg"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("pkg", filepath.Join(root, "alias")); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ sub, want string }{
		{"pkg", ""},
		{"alias", ""},
		{"out", "symbolic link leads out"},
		{"missing", "not in the repository"},
		{"../x", "escapes"},
	} {
		dir, err := SourceDir(root, tt.sub)
		if tt.want == "" && (err != nil || !strings.HasPrefix(dir, root)) || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("SourceDir(%q) = %q, %v; want %q", tt.sub, dir, err, tt.want)
		}
	}
}

// FuzzGitSource checks that whatever CheckURL, CheckRev and
// CheckSubdirectory accept is safe to hand to git and to join to a
// checkout.
func FuzzGitSource(f *testing.F) {
	for _, s := range [][3]string{
		{"https://github.com/org/repo.git", "main", "pkg"},
		{"ssh://git@host:22/repo", "v1.0", "src/pkg/"},
		{"file:///srv/repo", "0123456789abcdef0123456789abcdef01234567", ""},
		{"--upload-pack=touch /tmp/pwned; false", "-b", "../../x"},
		{"ext::sh -c touch% /tmp/pwned", "a..b", "/etc"},
		{"ssh://-oProxyCommand=x/repo", "@{-1}", "-rf"},
		{"git@github.com:org/repo", "x:y", `a\..\..\b`},
		{"HTTPS://h/r", "refs/heads/x", "a/./b/../../.."},
	} {
		f.Add(s[0], s[1], s[2])
	}
	root := filepath.Join(string(filepath.Separator), "cache", "git", "checkout")
	f.Fuzz(func(t *testing.T, u, rev, sub string) {
		if CheckURL(u) == nil {
			scheme, _, ok := strings.Cut(u, "://")
			if !ok || !allowedScheme(scheme) {
				t.Fatalf("accepted %q with scheme %q", u, scheme)
			}
			if strings.HasPrefix(u, "-") || strings.ContainsAny(u, "\x00\n\r") {
				t.Fatalf("accepted URL %q", u)
			}
		}
		if CheckRev(rev) == nil && (strings.HasPrefix(rev, "-") || strings.ContainsAny(rev, "\x00\n\r :")) {
			t.Fatalf("accepted revision %q", rev)
		}
		if CheckSubdirectory(sub) == nil {
			if strings.HasPrefix(sub, "-") || strings.ContainsRune(sub, 0) {
				t.Fatalf("accepted subdirectory %q", sub)
			}
			joined := filepath.Join(root, filepath.FromSlash(sub))
			if joined != root && !strings.HasPrefix(joined, root+string(filepath.Separator)) {
				t.Fatalf("subdirectory %q leads to %q, outside %q", sub, joined, root)
			}
			if rel, _ := filepath.Rel(root, joined); strings.HasPrefix(rel, "-") {
				t.Fatalf("subdirectory %q starts with '-' once cleaned: %q", sub, rel)
			}
		}
	})
}
