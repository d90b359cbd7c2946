package distname

import (
	"fmt"
	"path"
	"strings"
)

// Globs match normalized project names against globs (path.Match syntax)
// whose literal parts are normalized the same way, so that "Acme_*"
// covers "acme-tools". Character classes are only lower-cased.
type Globs []string

// CompileGlobs normalizes globs, skipping blank ones, and refuses a
// malformed one, naming it.
func CompileGlobs(globs []string) (Globs, error) {
	var m Globs
	for _, g := range globs {
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		n := normalizeGlob(g)
		if _, err := path.Match(n, ""); err != nil {
			return nil, fmt.Errorf("name glob %q: %w", g, err)
		}
		m = append(m, n)
	}
	return m, nil
}

// normalizeGlob normalizes the literal parts of a glob, leaving its
// metacharacters alone.
func normalizeGlob(g string) string {
	var b strings.Builder
	lit := func(s string) { b.WriteString(NormalizeName(s)) }
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

// Match reports whether a normalized name matches one of the globs.
func (m Globs) Match(norm string) bool {
	for _, g := range m {
		if ok, _ := path.Match(g, norm); ok {
			return true
		}
	}
	return false
}
