package gitsrc

import (
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/larder-build/larder/resolver/simple"
)

// Schemes are the URL schemes a git source may use. Everything else is
// refused, above all git's "ext::" and other "<transport>::" remote
// helpers, which run commands by design, and scp-like "host:path"
// addresses, whose host part git hands to ssh.
var Schemes = []string{"https", "http", "ssh", "git", "file"}

// allowProtocol is GIT_ALLOW_PROTOCOL for every git this package runs: it
// overrides any protocol.allow configuration, so that a redirect or a
// submodule can never reach a transport CheckURL would have refused.
var allowProtocol = strings.Join(Schemes, ":")

// Source is a git source: the repository, the branch, tag or commit asked
// for, and the folder of the project inside the repository.
type Source struct {
	URL          string
	Rev          string
	Subdirectory string
}

// Check reports the first part of s that is not safe to give git: see
// CheckURL, CheckRev and CheckSubdirectory.
func (s Source) Check() error {
	if err := CheckURL(s.URL); err != nil {
		return err
	}
	if err := CheckRev(s.Rev); err != nil {
		return err
	}
	return CheckSubdirectory(s.Subdirectory)
}

// CheckURL reports whether u is a repository URL larder hands to git: an
// absolute URL with one of Schemes, a host (none for file), and no part
// that git or ssh could read as an option or that carries control
// characters. Callers strip pip's "git+" prefix first.
func CheckURL(u string) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("git URL %q: %s", simple.RedactURL(u), fmt.Sprintf(format, args...))
	}
	switch {
	case u == "":
		return bad("empty")
	case strings.HasPrefix(u, "-"):
		return bad("starts with '-', which git would read as an option")
	}
	if err := checkText(u); err != nil {
		return bad("%v", err)
	}
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok || !allowedScheme(scheme) {
		// Name what was seen, so "ext::sh -c ..." or "git@host:org/repo"
		// is explained rather than merely refused.
		what := "no scheme"
		if i := strings.Index(u, "::"); i > 0 && !strings.Contains(u[:i], "/") {
			what = fmt.Sprintf("git's %q transport runs commands", u[:i])
		} else if ok {
			what = fmt.Sprintf("scheme %q is not allowed", scheme)
		} else if strings.Contains(u, ":") {
			what = "scp-like addresses (host:path) are not accepted; write ssh://user@host/path"
		}
		return bad("%s; want a URL with one of the schemes %s", what, strings.Join(Schemes, ", "))
	}
	if rest == "" {
		return bad("no host or path")
	}
	p, err := url.Parse(u)
	if err != nil {
		return bad("%v", unwrapURLError(err))
	}
	host := p.Hostname()
	if p.User != nil && strings.HasPrefix(p.User.Username(), "-") {
		return bad("the user name starts with '-', which ssh would read as an option")
	}
	if strings.HasPrefix(host, "-") || strings.HasPrefix(p.Port(), "-") {
		return bad("the host starts with '-', which ssh would read as an option")
	}
	if scheme == "file" {
		if p.Host != "" {
			return bad("a file URL names no host (file:///path)")
		}
		if p.Path == "" {
			return bad("no path")
		}
		return nil
	}
	if host == "" {
		return bad("no host")
	}
	return nil
}

func allowedScheme(s string) bool {
	for _, a := range Schemes {
		if s == a {
			return true
		}
	}
	return false
}

// unwrapURLError drops net/url's "parse URL:" prefix, which repeats the
// URL the caller already names.
func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// CheckRev reports whether rev is a branch, tag or commit larder hands to
// git: empty (the default branch), or a name git's check-ref-format would
// accept that does not start with '-'.
func CheckRev(rev string) error {
	if rev == "" {
		return nil
	}
	bad := func(why string) error { return fmt.Errorf("git revision %q: %s", rev, why) }
	if strings.HasPrefix(rev, "-") {
		return bad("starts with '-', which git would read as an option")
	}
	if err := checkText(rev); err != nil {
		return bad(err.Error())
	}
	if i := strings.IndexAny(rev, " ~^:?*[\\"); i >= 0 {
		return bad(fmt.Sprintf("%q is not allowed in a branch, tag or commit name", rev[i]))
	}
	if strings.Contains(rev, "..") || strings.Contains(rev, "@{") || strings.Contains(rev, "//") ||
		strings.HasPrefix(rev, "/") || strings.HasSuffix(rev, "/") || strings.HasSuffix(rev, ".") || strings.HasSuffix(rev, ".lock") {
		return bad("not a valid branch, tag or commit name")
	}
	return nil
}

// CheckSubdirectory reports whether sub names a folder inside a checkout:
// a relative, slash-separated path without ".." parts, and no part that
// starts with '-'.
func CheckSubdirectory(sub string) error {
	if sub == "" {
		return nil
	}
	bad := func(why string) error { return fmt.Errorf("subdirectory %q: %s", sub, why) }
	if err := checkText(sub); err != nil {
		return bad(err.Error())
	}
	if strings.HasPrefix(sub, "/") || strings.Contains(sub, "\\") || filepath.IsAbs(sub) || filepath.VolumeName(sub) != "" {
		return bad("must be a path relative to the repository, with '/' between folders")
	}
	for _, part := range strings.Split(strings.TrimSuffix(sub, "/"), "/") {
		switch {
		case part == "..":
			return bad("escapes the repository")
		case strings.HasPrefix(part, "-"):
			return bad("a part starts with '-', which a build tool could read as an option")
		}
	}
	return nil
}

// SourceDir returns the folder sub of a checkout, refusing a subdirectory
// that CheckSubdirectory refuses and one that leaves the checkout through a
// symbolic link committed to the repository.
func SourceDir(checkout, sub string) (string, error) {
	if err := CheckSubdirectory(sub); err != nil {
		return "", err
	}
	if sub == "" {
		return checkout, nil
	}
	dir := filepath.Join(checkout, filepath.FromSlash(path.Clean(sub)))
	root, err := filepath.EvalSymlinks(checkout)
	if err != nil {
		return "", fmt.Errorf("reading the checkout: %w", err)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return "", fmt.Errorf("subdirectory %q: not in the repository", sub)
		}
		return "", fmt.Errorf("subdirectory %q: %w", sub, err)
	}
	if rel, err := filepath.Rel(root, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("subdirectory %q: a symbolic link leads out of the repository", sub)
	}
	if st, err := os.Stat(real); err != nil || !st.IsDir() {
		return "", fmt.Errorf("subdirectory %q: not a folder in the repository", sub)
	}
	return dir, nil
}

// checkText refuses NUL and other control characters, which no URL, ref
// or path in a lock or pyproject.toml needs and which terminals and logs
// render misleadingly.
func checkText(s string) error {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fmt.Errorf("contains the control character %U", r)
		}
	}
	return nil
}
