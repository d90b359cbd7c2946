package reqfile

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/larder-build/larder/resolver/pyurl"
)

// vcsKinds are the version control systems pip knows, and vcsSchemes the
// URL schemes it accepts for them.
var (
	vcsKinds   = []string{"bzr", "git", "hg", "svn"}
	vcsSchemes = map[string]bool{
		"bzr+http": true, "bzr+https": true, "bzr+ssh": true, "bzr+sftp": true,
		"bzr+ftp": true, "bzr+lp": true, "bzr+file": true,
		"git+http": true, "git+https": true, "git+ssh": true, "git+git": true, "git+file": true,
		"hg+file": true, "hg+http": true, "hg+https": true, "hg+ssh": true, "hg+static-http": true,
		"svn+ssh": true, "svn+http": true, "svn+https": true, "svn+svn": true, "svn+file": true,
	}
)

// urlScheme returns what pip calls a URL's scheme: everything before the
// first ':', lowercased, or "" when there is no ':'.
func urlScheme(s string) string {
	i := strings.IndexByte(s, ':')
	if i < 0 {
		return ""
	}
	return strings.ToLower(s[:i])
}

// isURL reports whether pip treats s as a URL rather than a name or a path.
func isURL(s string) bool {
	switch sc := urlScheme(s); sc {
	case "http", "https", "file", "ftp":
		return true
	default:
		return vcsSchemes[sc]
	}
}

// urlsplit is Python's urllib.parse.urlsplit, which pip uses to take
// links apart; unlike net/url it never fails and leaves escapes alone.
func urlsplit(s string) pyurl.URL {
	u, _ := pyurl.Split(s)
	return u
}

func isASCIILetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// fragmentValue finds "[#&]key=value" anywhere in a URL, as pip's egg and
// subdirectory lookups do; the value runs to the next '&'.
func fragmentValue(link, key string) (string, bool) {
	pat := key + "="
	for i := 0; i+1+len(pat) <= len(link); i++ {
		if (link[i] == '#' || link[i] == '&') && strings.HasPrefix(link[i+1:], pat) {
			v := link[i+1+len(pat):]
			if j := strings.IndexByte(v, '&'); j >= 0 {
				v = v[:j]
			}
			return v, true
		}
	}
	return "", false
}

// linkHashNames are the fragment keys pip reads as an archive's hash.
var linkHashNames = map[string]bool{"sha1": true, "sha224": true, "sha384": true, "sha256": true, "sha512": true, "md5": true}

// unknownFragment returns the first part of a URL fragment that pip does not
// interpret (egg=, subdirectory= or a hash), or "" if every part is known.
func unknownFragment(fragment string) string {
	if fragment == "" {
		return ""
	}
	for _, part := range strings.Split(fragment, "&") {
		key, _, ok := strings.Cut(part, "=")
		if ok && (key == "egg" || key == "subdirectory" || linkHashNames[key]) {
			continue
		}
		return part
	}
	return ""
}

// pathToFileURL is pip's path_to_url for an absolute, clean POSIX path:
// every byte but letters, digits, "_.-~" and "/" is percent-encoded.
func pathToFileURL(path string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.WriteString("file://")
	for i := 0; i < len(path); i++ {
		c := path[i]
		if isASCIILetter(c) || (c >= '0' && c <= '9') || strings.IndexByte("_.-~/", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// fileURLToPath is pip's url_to_path: only local file URLs are allowed.
func fileURLToPath(link string) (string, error) {
	u := urlsplit(link)
	if u.Netloc != "" && u.Netloc != "localhost" {
		return "", fmt.Errorf("file URL %q names host %q; only local file URLs are supported", link, u.Netloc)
	}
	p, err := url.PathUnescape(u.Path)
	if err != nil {
		p = pyUnquote(u.Path)
	}
	return p, nil
}

// pyUnquote decodes %XX escapes and leaves malformed ones as written, like
// Python's urllib.parse.unquote.
func pyUnquote(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// VCS describes a version-control requirement such as
// "git+https://github.com/org/repo.git@v1.2#egg=name&subdirectory=pkg".
type VCS struct {
	// Kind is the version control system: "git", "hg", "svn" or "bzr".
	Kind string
	// URL is the repository URL without the "git+" prefix, the "@rev"
	// and the fragment, e.g. "https://github.com/org/repo.git".
	URL string
	// Rev is the branch, tag or commit after '@' in the path, or "".
	Rev string
	// Subdirectory is the "subdirectory=" fragment value, or "".
	Subdirectory string
	// Egg is the "egg=" fragment value as written (pip also reads
	// "name==1.0" forms there), or "".
	Egg string
}

// errEmptyRev reports "repo.git@" with nothing after the '@'.
var errEmptyRev = errors.New("the revision after '@' is empty; name a branch, tag or commit after '@' or remove the '@'")

// parseVCS splits a VCS link the way pip's version control backends do
// when they check the repository out: the revision is the part after the
// last '@' of the path, so "user@host" in the authority is not mistaken
// for one.
func parseVCS(link string) (*VCS, error) {
	u := urlsplit(link)
	kind, scheme, ok := strings.Cut(u.Scheme, "+")
	if !ok {
		return nil, fmt.Errorf("%q is not a VCS URL", link)
	}
	v := &VCS{Kind: kind}
	v.Egg, _ = fragmentValue(link, "egg")
	v.Subdirectory, _ = fragmentValue(link, "subdirectory")
	path := u.Path
	if i := strings.LastIndexByte(path, '@'); i >= 0 {
		v.Rev = path[i+1:]
		path = path[:i]
		if v.Rev == "" {
			return nil, errEmptyRev
		}
	}
	v.URL = pyurl.URL{Scheme: scheme, Netloc: u.Netloc, Path: path, Query: u.Query}.String()
	return v, nil
}

// looksLikePath is pip's test for a requirement that names a local path: it
// contains a path separator or starts with '.'.
func looksLikePath(name string) bool {
	return strings.Contains(name, string(filepath.Separator)) || strings.Contains(name, "/") || strings.HasPrefix(name, ".")
}

// archiveExtensions are the file endings pip treats as installable archives.
var archiveExtensions = []string{
	".zip", ".whl", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tlz", ".tar.lz",
	".tar.lzma", ".tar.gz", ".tgz", ".tar",
}

// archiveExt is pip's splitext: the extension of the last path element,
// with a preceding ".tar" kept, as in ".tar.gz".
func archiveExt(name string) string {
	base := name
	if i := strings.LastIndexByte(base, '/'); i >= 0 {
		base = base[i+1:]
	}
	// posixpath.splitext ignores leading dots of the base name.
	lead := 0
	for lead < len(base) && base[lead] == '.' {
		lead++
	}
	i := strings.LastIndexByte(base[lead:], '.')
	if i < 0 {
		return ""
	}
	i += lead
	stem, ext := base[:i], base[i:]
	if strings.HasSuffix(strings.ToLower(stem), ".tar") {
		ext = stem[len(stem)-4:] + ext
	}
	return ext
}

func isArchive(name string) bool {
	ext := strings.ToLower(archiveExt(name))
	for _, a := range archiveExtensions {
		if ext == a {
			return true
		}
	}
	return false
}

// linkFilename is pip's Link.filename: the unquoted last path element.
func linkFilename(link string) string {
	u := urlsplit(link)
	p := strings.TrimRight(pyUnquote(u.Path), "/")
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		p = p[i+1:]
	}
	if p == "" {
		return u.Netloc
	}
	return p
}

// wheelNameVersion reads a name and version from a wheel file name
// (name-version[-build]-python-abi-platform.whl) as pip does, with '_'
// read as '-'.
func wheelNameVersion(filename string) (name, version string, err error) {
	stem, ok := strings.CutSuffix(filename, ".whl")
	parts := strings.Split(stem, "-")
	valid := ok && (len(parts) == 5 || len(parts) == 6)
	if valid {
		for i, p := range parts {
			optional := i == 1 // the version may be empty
			if len(parts) == 6 && i == 2 {
				// A build tag starts with a digit and may hold anything
				// but '-'.
				if p == "" || p[0] < '0' || p[0] > '9' {
					valid = false
				}
				continue
			}
			if (p == "" && !optional) || strings.IndexFunc(p, isPySpace) >= 0 {
				valid = false
			}
		}
	}
	if !valid {
		return "", "", fmt.Errorf("%q is not a valid wheel file name (name-version[-build]-python-abi-platform.whl)", filename)
	}
	return strings.ReplaceAll(parts[0], "_", "-"), strings.ReplaceAll(parts[1], "_", "-"), nil
}
