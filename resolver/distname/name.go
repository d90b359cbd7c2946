package distname

import "strings"

// NormalizeName returns the PEP 503 normalized form of a project name: runs
// of "-", "_" and "." become a single "-" and letters are lower-cased, so
// that "Zope.Interface" and "zope_interface" compare equal.
func NormalizeName(s string) string {
	normal := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 0x80:
			normal = false
		case c == '_' || c == '.':
			normal = false
		case c == '-' && i+1 < len(s) && isSeparator(s[i+1]):
			normal = false
		}
		if !normal {
			break
		}
	}
	if normal {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	sep := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isSeparator(c) {
			if !sep {
				b.WriteByte('-')
			}
			sep = true
			continue
		}
		sep = false
		b.WriteByte(c)
	}
	out := b.String()
	for i := 0; i < len(out); i++ {
		if out[i] >= 0x80 {
			// Non-ASCII names are invalid, but lower-case them the way
			// Python's str.lower() mostly does rather than leave them.
			return strings.ToLower(out)
		}
	}
	return lowerASCII(out)
}

func isSeparator(c byte) bool { return c == '-' || c == '_' || c == '.' }

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// ValidName reports whether s is a valid project name (the "Names and
// normalization" specification): ASCII letters and digits, with ".", "_"
// and "-" allowed inside but not at either end.
func ValidName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlnum(c) {
			continue
		}
		if !isSeparator(c) || i == 0 || i == len(s)-1 {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
