package pep508

import "github.com/larder-build/larder/resolver/pyurl"

// validURL reports whether packaging would accept u as the URL of a direct
// reference. It mirrors the checks packaging makes with Python's
// urllib.parse: a file: URL must survive a split and re-join unchanged, and
// any other URL needs both a scheme and a network location. The parser has
// already excluded whitespace and control characters, which Python would
// strip before splitting.
func validURL(u string) bool {
	p, ok := pyurl.Split(u)
	if !ok {
		return false
	}
	if p.Scheme == "file" {
		return p.String() == u
	}
	return p.Scheme != "" && p.Netloc != ""
}
