package serve

import (
	"fmt"
	"net/url"
	"path"
	"strings"
	"unicode/utf8"
)

// maxPathLen bounds a request path; nothing the server serves comes close.
const maxPathLen = 1024

// normalize returns the PEP 503 normalized form of a project name:
// lowercase, every run of "-", "_" and "." written as one "-".
func normalize(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	sep := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-' || c == '_' || c == '.':
			sep = true
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if sep {
			b.WriteByte('-')
			sep = false
		}
		b.WriteByte(c)
	}
	if sep {
		b.WriteByte('-')
	}
	return b.String()
}

// validProjectName reports whether a normalized name can be a project:
// ASCII letters and digits separated by single dashes, as the core metadata
// specification allows once normalized.
func validProjectName(norm string) bool {
	if norm == "" || len(norm) > 200 || norm[0] == '-' || norm[len(norm)-1] == '-' {
		return false
	}
	for i := 0; i < len(norm); i++ {
		c := norm[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// globMatcher matches normalized project names against private globs,
// which are normalized the same way so that "Acme_*" covers "acme-tools".
type globMatcher []string

func newGlobMatcher(globs []string) (globMatcher, error) {
	var m globMatcher
	for _, g := range globs {
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		n := normalizeGlob(g)
		if _, err := path.Match(n, ""); err != nil {
			return nil, fmt.Errorf("private glob %q: %w", g, err)
		}
		m = append(m, n)
	}
	return m, nil
}

// normalizeGlob normalizes the literal parts of a glob, leaving its
// metacharacters alone.
func normalizeGlob(g string) string {
	var b strings.Builder
	lit := func(s string) { b.WriteString(normalize(s)) }
	start := 0
	inClass := false
	for i := 0; i < len(g); i++ {
		switch c := g[i]; {
		case inClass:
			if c == ']' {
				b.WriteString(strings.ToLower(g[start : i+1]))
				start, inClass = i+1, false
			}
		case c == '*' || c == '?':
			lit(g[start:i])
			b.WriteByte(c)
			start = i + 1
		case c == '[':
			lit(g[start:i])
			start, inClass = i, true
		}
	}
	if inClass {
		b.WriteString(strings.ToLower(g[start:]))
	} else {
		lit(g[start:])
	}
	return b.String()
}

func (m globMatcher) match(norm string) bool {
	for _, g := range m {
		if ok, _ := path.Match(g, norm); ok {
			return true
		}
	}
	return false
}

// splitFilename returns the project (as spelled) and version of a wheel or
// sdist file name: a wheel's name is its first dash-separated field (the
// format escapes dashes in names), an sdist's version follows its last dash.
func splitFilename(filename string) (project, version string, ok bool) {
	if base, found := strings.CutSuffix(filename, ".whl"); found {
		f := strings.Split(base, "-")
		if len(f) < 5 || len(f) > 6 || f[0] == "" || f[1] == "" {
			return "", "", false
		}
		return f[0], f[1], true
	}
	for _, ext := range []string{".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tar"} {
		if base, found := strings.CutSuffix(filename, ext); found {
			i := strings.LastIndexByte(base, '-')
			if i <= 0 || i == len(base)-1 {
				return "", "", false
			}
			return base[:i], base[i+1:], true
		}
	}
	return "", "", false
}

// pathError is why a request path is refused.
type pathError int

const (
	pathOK pathError = iota
	pathMalformed
	pathTooLong
)

// splitPath splits an escaped request path into unescaped segments, refusing
// anything that could name a different file than it seems to: ".." or "."
// segments, encoded or literal backslashes, encoded slashes, NUL and other
// control bytes, invalid UTF-8, and empty segments other than a final one
// (the trailing slash of a directory URL).
func splitPath(escaped string) ([]string, pathError) {
	if len(escaped) > maxPathLen {
		return nil, pathTooLong
	}
	if escaped == "" || escaped[0] != '/' {
		return nil, pathMalformed
	}
	raw := strings.Split(escaped[1:], "/")
	segs := make([]string, len(raw))
	for i, r := range raw {
		s, err := url.PathUnescape(r)
		if err != nil || !safeSegment(s) || (s == "" && i != len(raw)-1) {
			return nil, pathMalformed
		}
		if len(s) > 255 {
			return nil, pathTooLong
		}
		segs[i] = s
	}
	return segs, pathOK
}

func safeSegment(s string) bool {
	if s == "." || s == ".." || !utf8.ValidString(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || c == '/' || c == '\\' {
			return false
		}
	}
	return true
}
