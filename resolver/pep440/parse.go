package pep440

import (
	"fmt"
	"strings"
	"unicode"
)

// The sort key is a byte string whose lexicographic order is the PEP 440
// order, so that Compare is a single memcmp and never allocates. Fields, in
// order, each self-delimiting:
//
//	epoch    number
//	release  number... 0x01   (trailing zeros dropped: 1.0 == 1.0.0)
//	pre      0x00 (dev release of a final: sorts before every pre-release)
//	         | 0x01 label number (label a=1, b=2, rc=3)
//	         | 0x02 (none)
//	post     0x00 (none) | 0x01 number
//	dev      0x00 number | 0x01 (none)
//	local    nothing (none, so it sorts first as a prefix)
//	         | segments: 0x02 lowercase-text 0x00 | 0x03 number
//
// A number is its decimal digits without leading zeros, preceded by their
// count plus 2 (or 0xF0 and a four-byte big-endian count for very long
// numbers), so that longer numbers sort after shorter ones and numbers of
// equal length sort by their digits. Arbitrarily large numbers therefore
// order correctly, as Python's integers do.

var labelText = [...]string{labelA: "a", labelB: "b", labelRC: "rc"}

const (
	labelA  = 1
	labelB  = 2
	labelRC = 3
)

// pyIsSpace reports whether Python's str.isspace (and so the \s of the
// reference regular expression) holds for r.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

func isSep(c byte) bool { return c == '.' || c == '-' || c == '_' }

func isAlnum(c byte) bool {
	return isDigit(c) || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// hasPrefixFold reports whether t starts with the lowercase ASCII word w,
// ignoring case.
func hasPrefixFold(t, w string) bool {
	if len(t) < len(w) {
		return false
	}
	for i := 0; i < len(w); i++ {
		if lower(t[i]) != w[i] {
			return false
		}
	}
	return true
}

// preLabel matches a pre-release label at the start of t, longest spelling
// first so that "alpha" is not read as "a" followed by garbage.
func preLabel(t string) (label byte, n int) {
	for _, l := range [...]struct {
		word  string
		label byte
	}{
		{"alpha", labelA}, {"a", labelA},
		{"beta", labelB}, {"b", labelB},
		{"preview", labelRC}, {"pre", labelRC}, {"rc", labelRC}, {"c", labelRC},
	} {
		if hasPrefixFold(t, l.word) {
			return l.label, len(l.word)
		}
	}
	return 0, 0
}

func postLabel(t string) int {
	for _, w := range [...]string{"post", "rev", "r"} {
		if hasPrefixFold(t, w) {
			return len(w)
		}
	}
	return 0
}

// digits returns the run of ASCII digits of s starting at i and the index
// after it.
func digits(s string, i int) (string, int) {
	j := i
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	return s[i:j], j
}

func stripZeros(d string) string {
	i := 0
	for i < len(d) && d[i] == '0' {
		i++
	}
	return d[i:]
}

// appendNumText appends the decimal digits d as Python's str(int(d)) would.
func appendNumText(b []byte, d string) []byte {
	z := stripZeros(d)
	if z == "" {
		return append(b, '0')
	}
	return append(b, z...)
}

// appendNumKey appends the sort-key encoding of the decimal digits d.
func appendNumKey(b []byte, d string) []byte {
	z := stripZeros(d)
	if n := len(z); n+2 < 0xF0 {
		b = append(b, byte(n+2))
	} else {
		b = append(b, 0xF0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, z...)
}

// appendSuffix appends a post or dev release segment (label and the
// digits d) to text when has, and to key the byte that sorts it against its
// absence, present or absent, then its number.
func appendSuffix(text, key []byte, has bool, label, d string, present, absent byte) ([]byte, []byte) {
	if !has {
		return text, append(key, absent)
	}
	text = appendNumText(append(text, label...), d)
	return text, appendNumKey(append(key, present), d)
}

// parse parses s, returning the reason when it is not a valid version. The
// grammar is the one of PEP 440's appendix, matched greedily: every optional
// part of that grammar can be taken whenever it is present without making a
// later part fail, so no backtracking is needed.
func parse(in string) (Version, string) {
	s := strings.TrimFunc(in, pyIsSpace)
	n := len(s)
	var textBuf, keyBuf [64]byte
	text, key := textBuf[:0], keyBuf[:0]
	var flags uint8

	i := 0
	if i < n && (s[i] == 'v' || s[i] == 'V') {
		i++
	}
	d, i := digits(s, i)
	if d == "" {
		return Version{}, expected(s, i, "a release number")
	}
	if i < n && s[i] == '!' {
		if z := stripZeros(d); z != "" {
			text = append(text, z...)
			text = append(text, '!')
		}
		key = appendNumKey(key, d)
		d, i = digits(s, i+1)
		if d == "" {
			return Version{}, expected(s, i, "a release number after the epoch")
		}
	} else {
		key = appendNumKey(key, "")
	}

	// Release segment; trailing zeros are dropped from the key only.
	text = appendNumText(text, d)
	key = appendNumKey(key, d)
	keyEnd := len(key)
	if stripZeros(d) == "" {
		keyEnd = len(key) - 1 // a zero encodes as its one count byte
	}
	for i+1 < n && s[i] == '.' && isDigit(s[i+1]) {
		d, i = digits(s, i+1)
		text = append(text, '.')
		text = appendNumText(text, d)
		key = appendNumKey(key, d)
		if stripZeros(d) != "" {
			keyEnd = len(key)
		}
	}
	key = append(key[:keyEnd], 0x01)

	// Pre-release: [-_.]? label [-_.]? number?
	var preL byte
	var preN string
	j := i
	if j < n && isSep(s[j]) {
		j++
	}
	if l, w := preLabel(s[j:]); w > 0 {
		j += w
		if j < n && isSep(s[j]) {
			j++
		}
		preL = l
		preN, i = digits(s, j)
		flags |= flagPre
	}

	// Post-release: -number, or [-_.]? label [-_.]? number?
	var postN string
	if i+1 < n && s[i] == '-' && isDigit(s[i+1]) {
		postN, i = digits(s, i+1)
		flags |= flagPost
	} else {
		j = i
		if j < n && isSep(s[j]) {
			j++
		}
		if w := postLabel(s[j:]); w > 0 {
			j += w
			if j < n && isSep(s[j]) {
				j++
			}
			postN, i = digits(s, j)
			flags |= flagPost
		}
	}

	// Development release: [-_.]? dev [-_.]? number?
	var devN string
	j = i
	if j < n && isSep(s[j]) {
		j++
	}
	if hasPrefixFold(s[j:], "dev") {
		j += 3
		if j < n && isSep(s[j]) {
			j++
		}
		devN, i = digits(s, j)
		flags |= flagDev
	}

	switch {
	case flags&flagPre != 0:
		text = append(text, labelText[preL]...)
		text = appendNumText(text, preN)
		key = append(key, 0x01, preL)
		key = appendNumKey(key, preN)
	case flags&(flagPost|flagDev) == flagDev:
		key = append(key, 0x00)
	default:
		key = append(key, 0x02)
	}
	// A post release sorts after none; a dev release before none.
	text, key = appendSuffix(text, key, flags&flagPost != 0, ".post", postN, 0x01, 0x00)
	text, key = appendSuffix(text, key, flags&flagDev != 0, ".dev", devN, 0x00, 0x01)
	pubKey := len(key)

	// Local version label: + segment ([-_.] segment)*, where all-digit
	// segments are numbers and the others lowercase text.
	if i < n && s[i] == '+' {
		flags |= flagLocal
		text = append(text, '+')
		i++
		for {
			j = i
			allDigits := true
			for j < n && isAlnum(s[j]) {
				allDigits = allDigits && isDigit(s[j])
				j++
			}
			if j == i {
				return Version{}, expected(s, i, "a local version segment")
			}
			seg := s[i:j]
			if allDigits {
				text = appendNumText(text, seg)
				key = append(key, 0x03)
				key = appendNumKey(key, seg)
			} else {
				key = append(key, 0x02)
				for k := 0; k < len(seg); k++ {
					c := lower(seg[k])
					text = append(text, c)
					key = append(key, c)
				}
				key = append(key, 0x00)
			}
			i = j
			if i+1 < n && isSep(s[i]) {
				text = append(text, '.')
				i++
				continue
			}
			break
		}
	}
	if i != n {
		return Version{}, fmt.Sprintf("unexpected %q at offset %d", s[i:], i)
	}

	var b strings.Builder
	b.Grow(len(text) + len(key))
	b.Write(text)
	b.Write(key)
	all := b.String()
	return Version{
		text:   all[:len(text)],
		key:    all[len(text):],
		pubKey: uint32(pubKey),
		flags:  flags,
	}, ""
}

func expected(s string, i int, what string) string {
	if i >= len(s) {
		return "expected " + what + " at the end"
	}
	return fmt.Sprintf("expected %s at offset %d, found %q", what, i, s[i:])
}
