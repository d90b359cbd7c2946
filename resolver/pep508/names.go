package pep508

import "strings"

// NormalizeName returns a project or extra name in the normalized form of
// PEP 503: lowercase, with each run of "-", "_" and "." replaced by one "-".
// PEP 685 uses the same form to compare extra names.
func NormalizeName(name string) string {
	if isNormalized(name) {
		return name
	}
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
	out := b.String()
	for i := 0; i < len(out); i++ {
		if out[i] >= 0x80 {
			// Names on an index are ASCII; a non-ASCII extra in a marker
			// still compares case-insensitively, like Python's str.lower.
			return strings.ToLower(out)
		}
	}
	return out
}

// isNormalized spares NormalizeName an allocation for names that are
// already normalized, which is nearly all of them in real metadata.
func isNormalized(name string) bool {
	prevSep := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'A' <= c && c <= 'Z', c == '_' || c == '.', c >= 0x80:
			return false
		case c == '-':
			if prevSep {
				return false
			}
			prevSep = true
		default:
			prevSep = false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
