package pep440

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// ErrInvalidVersion is wrapped by every error that reports a string that is
// not a PEP 440 version.
var ErrInvalidVersion = errors.New("invalid PEP 440 version")

// Version is a parsed PEP 440 version. It is a small value, cheap to copy,
// and comparable with ==, which reports whether two versions have the same
// normalized form; use Compare for PEP 440 equality, which also equates
// "1.0" and "1.0.0". The zero Version is not a valid version: it sorts
// before every parsed one and prints as "".
type Version struct {
	text   string // normalized form
	key    string // order-preserving encoding, see key.go
	pubKey uint32 // length of key without the local segment
	flags  uint8
}

const (
	flagPre uint8 = 1 << iota
	flagPost
	flagDev
	flagLocal
)

// Parse parses a PEP 440 version, accepting every spelling the standard
// allows (case, surrounding whitespace, a leading "v", alternative labels
// and separators) and normalizing it.
func Parse(s string) (Version, error) {
	v, reason := parse(s)
	if reason != "" {
		return Version{}, fmt.Errorf("parsing version %q: %w: %s", s, ErrInvalidVersion, reason)
	}
	return v, nil
}

// MustParse is like Parse but panics if s is not a valid version. It is
// meant for constants in tests and tables.
func MustParse(s string) Version { return must(Parse(s)) }

// must returns v, or panics with err: the Must forms of the parsers.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// String returns the normalized form of v, such as "1!2.0rc1.post0.dev3+ab.7".
func (v Version) String() string { return v.text }

// Compare returns -1, 0 or +1 as v sorts before, equal to or after o.
func (v Version) Compare(o Version) int { return strings.Compare(v.key, o.key) }

// Compare returns -1, 0 or +1 as a sorts before, equal to or after b. It
// suits slices.SortFunc.
func Compare(a, b Version) int { return strings.Compare(a.key, b.key) }

// Equal reports whether v and o are the same version under PEP 440, which
// ignores trailing zeros of the release segment.
func (v Version) Equal(o Version) bool { return v.key == o.key }

// IsPrerelease reports whether v is a pre-release or a development release.
func (v Version) IsPrerelease() bool { return v.flags&(flagPre|flagDev) != 0 }

// IsPostrelease reports whether v has a post-release segment.
func (v Version) IsPostrelease() bool { return v.flags&flagPost != 0 }

// IsDevrelease reports whether v has a development release segment.
func (v Version) IsDevrelease() bool { return v.flags&flagDev != 0 }

// Local returns the normalized local version label of v, without the "+",
// or "" when v has none.
func (v Version) Local() string {
	if v.flags&flagLocal == 0 {
		return ""
	}
	return v.text[strings.IndexByte(v.text, '+')+1:]
}

// Public returns v without its local version label.
func (v Version) Public() Version {
	if v.flags&flagLocal == 0 {
		return v
	}
	return Version{
		text:   v.text[:strings.IndexByte(v.text, '+')],
		key:    v.key[:v.pubKey],
		pubKey: v.pubKey,
		flags:  v.flags &^ flagLocal,
	}
}

// Release returns the numbers of the release segment, as written (trailing
// zeros kept). Numbers too large for an int are returned as math.MaxInt.
func (v Version) Release() []int {
	t := v.public()
	if t == "" {
		return nil
	}
	if i := strings.IndexByte(t, '!'); i >= 0 {
		t = t[i+1:]
	}
	var out []int
	for {
		n, rest := leadingInt(t)
		out = append(out, n)
		if rest == "" || rest[0] != '.' || len(rest) < 2 || !isDigit(rest[1]) {
			return out
		}
		t = rest[1:]
	}
}

// Epoch returns the epoch of v, 0 when none is written. An epoch too large
// for an int is returned as math.MaxInt.
func (v Version) Epoch() int {
	i := strings.IndexByte(v.text, '!')
	if i < 0 {
		return 0
	}
	n, _ := leadingInt(v.text[:i])
	return n
}

// Pre returns the pre-release label ("a", "b" or "rc") and number of v, or
// "" and 0 when v is not a pre-release.
func (v Version) Pre() (string, int) {
	if v.flags&flagPre == 0 {
		return "", 0
	}
	t := v.public()
	if i := strings.IndexByte(t, '!'); i >= 0 {
		t = t[i+1:]
	}
	for i := 0; i < len(t); i++ {
		switch t[i] {
		case 'a', 'b':
			n, _ := leadingInt(t[i+1:])
			return t[i : i+1], n
		case 'r':
			n, _ := leadingInt(t[i+2:])
			return "rc", n
		}
	}
	return "", 0
}

// Post returns the post-release number of v and whether it has one.
func (v Version) Post() (int, bool) { return v.numberAfter(flagPost, ".post") }

// Dev returns the development release number of v and whether it has one.
func (v Version) Dev() (int, bool) { return v.numberAfter(flagDev, ".dev") }

// numberAfter returns the number that follows label in v's normalized
// public form, and whether v has that part (flag).
func (v Version) numberAfter(flag uint8, label string) (int, bool) {
	if v.flags&flag == 0 {
		return 0, false
	}
	t := v.public()
	n, _ := leadingInt(t[strings.Index(t, label)+len(label):])
	return n, true
}

func (v Version) public() string {
	if i := strings.IndexByte(v.text, '+'); i >= 0 {
		return v.text[:i]
	}
	return v.text
}

// leadingInt reads the decimal number at the start of t, saturating at
// math.MaxInt, and returns the rest of t.
func leadingInt(t string) (int, string) {
	n := 0
	i := 0
	for ; i < len(t) && isDigit(t[i]); i++ {
		d := int(t[i] - '0')
		if n > (math.MaxInt-d)/10 {
			n = math.MaxInt
		} else if n != math.MaxInt {
			n = n*10 + d
		}
	}
	return n, t[i:]
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// IsZero reports whether v is the zero Version rather than a parsed one.
func (v Version) IsZero() bool { return v.key == "" }

// publicKey returns the sort key of v without its local version label.
func (v Version) publicKey() string { return v.key[:v.pubKey] }

// MarshalText returns the normalized form of v, so that versions read and
// write as strings in JSON and TOML.
func (v Version) MarshalText() ([]byte, error) { return []byte(v.text), nil }

// UnmarshalText parses text as a version, as Parse does.
func (v *Version) UnmarshalText(text []byte) error {
	p, err := Parse(string(text))
	if err != nil {
		return err
	}
	*v = p
	return nil
}
