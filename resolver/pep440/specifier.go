package pep440

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidSpecifier is wrapped by every error that reports a malformed
// version specifier.
var ErrInvalidSpecifier = errors.New("invalid PEP 440 specifier")

type operator uint8

const (
	opCompatible   operator = iota + 1 // ~=
	opEqual                            // ==
	opNotEqual                         // !=
	opLessEqual                        // <=
	opGreaterEqual                     // >=
	opLess                             // <
	opGreater                          // >
	opArbitrary                        // ===
)

// operators lists the spellings longest first, so that "===" is not read as
// "==" and "<=" not as "<".
var operators = [...]struct {
	text string
	op   operator
}{
	{"===", opArbitrary},
	{"~=", opCompatible}, {"==", opEqual}, {"!=", opNotEqual},
	{"<=", opLessEqual}, {">=", opGreaterEqual},
	{"<", opLess}, {">", opGreater},
}

var operatorText = [...]string{
	opCompatible: "~=", opEqual: "==", opNotEqual: "!=", opLessEqual: "<=",
	opGreaterEqual: ">=", opLess: "<", opGreater: ">", opArbitrary: "===",
}

// Specifier is one clause of a version specifier, such as ">=1.0" or
// "==2.*". The zero Specifier matches nothing.
type Specifier struct {
	op       operator
	wildcard bool    // == or != with a trailing .*
	namesPre bool    // an inclusive clause naming a pre-release admits them
	text     string  // the version as written, trimmed
	v        Version // the version, without ".*"; zero for ===
	// prefix is the normalized version that a wildcard or ~= clause
	// matches as a prefix: its epoch, release and, for wildcards, the
	// pre- and post-release parts.
	prefix string
	// lo and hi bound the sort keys of the versions whose release starts
	// with a release-only prefix, so that matching it is two comparisons:
	// from P.dev0, the lowest version of release P, up to but excluding
	// Q.dev0, where Q is P with its last number incremented.
	lo, hi string
}

// ParseSpecifier parses one specifier clause such as ">= 1.0" or "==1.2.*",
// with the grammar of PEP 440: "~=" needs at least two release numbers,
// ".*" is only allowed after "==" and "!=" and not with a development or
// local part, local versions only after "==" and "!=", and "===" takes any
// text without whitespace.
func ParseSpecifier(s string) (Specifier, error) {
	sp, reason := parseSpecifier(s)
	if reason != "" {
		return Specifier{}, fmt.Errorf("parsing specifier %q: %w: %s", s, ErrInvalidSpecifier, reason)
	}
	return sp, nil
}

// MustParseSpecifier is like ParseSpecifier but panics if s is invalid. It
// is meant for constants in tests and tables.
func MustParseSpecifier(s string) Specifier { return must(ParseSpecifier(s)) }

func parseSpecifier(s string) (Specifier, string) {
	t := strings.TrimFunc(s, pyIsSpace)
	var sp Specifier
	for _, o := range operators {
		if strings.HasPrefix(t, o.text) {
			sp.op = o.op
			t = strings.TrimLeftFunc(t[len(o.text):], pyIsSpace)
			break
		}
	}
	if sp.op == 0 {
		return Specifier{}, "expected an operator (~=, ==, !=, <=, >=, <, >, ===)"
	}
	sp.text = t
	if sp.op == opArbitrary {
		if strings.IndexFunc(t, pyIsSpace) >= 0 {
			return Specifier{}, "the version of === may not contain whitespace"
		}
		if v, reason := parse(t); reason == "" {
			sp.namesPre = v.IsPrerelease()
		}
		return sp, ""
	}

	vt := t
	if (sp.op == opEqual || sp.op == opNotEqual) && strings.HasSuffix(t, ".*") {
		sp.wildcard = true
		vt = t[:len(t)-2]
		if strings.TrimRightFunc(vt, pyIsSpace) != vt {
			return Specifier{}, "unexpected whitespace before .*"
		}
	}
	if vt == "" {
		return Specifier{}, "expected a version after the operator"
	}
	v, reason := parse(vt)
	if reason != "" {
		return Specifier{}, reason
	}
	sp.v = v
	switch {
	case sp.wildcard && v.IsDevrelease():
		return Specifier{}, "a prefix match (.*) may not name a development release"
	case sp.wildcard && v.flags&flagLocal != 0:
		return Specifier{}, "a prefix match (.*) may not name a local version"
	case v.flags&flagLocal != 0 && sp.op != opEqual && sp.op != opNotEqual:
		return Specifier{}, "only == and != may name a local version"
	case sp.op == opCompatible && !strings.Contains(releaseText(v.text), "."):
		return Specifier{}, "~= needs a version with at least two release numbers"
	}

	switch sp.op {
	case opEqual, opGreaterEqual, opLessEqual, opCompatible:
		sp.namesPre = v.IsPrerelease()
	}
	if sp.wildcard {
		sp.prefix = v.text
	} else if sp.op == opCompatible {
		epoch, release, _ := splitNormalized(v.text)
		release = release[:strings.LastIndexByte(release, '.')]
		if epoch != "" {
			sp.prefix = epoch + "!" + release
		} else {
			sp.prefix = release
		}
	}
	if sp.prefix != "" {
		sp.lo, sp.hi = releaseRange(sp.prefix)
	}
	return sp, ""
}

// releaseRange returns the sort keys bounding the versions whose release
// starts with the release-only prefix, or "", "" when prefix names a pre- or
// post-release too.
func releaseRange(prefix string) (lo, hi string) {
	epoch, release, rest := splitNormalized(prefix)
	if rest != "" {
		return "", ""
	}
	if epoch != "" {
		epoch += "!"
	}
	cut := strings.LastIndexByte(release, '.') + 1
	low, reason := parse(epoch + release + ".dev0")
	if reason != "" {
		return "", ""
	}
	high, reason := parse(epoch + release[:cut] + increment(release[cut:]) + ".dev0")
	if reason != "" {
		return "", ""
	}
	return low.key, high.key
}

// increment adds one to a decimal number of any length.
func increment(d string) string {
	b := []byte(d)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < '9' {
			b[i]++
			return string(b)
		}
		b[i] = '0'
	}
	return "1" + string(b)
}

// Operator returns the clause's operator, such as ">=" or "~=".
func (s Specifier) Operator() string {
	if s.op == 0 {
		return ""
	}
	return operatorText[s.op]
}

// Version returns the clause's version as written, such as "1.0" or "2.*".
func (s Specifier) Version() string { return s.text }

// String returns the clause as its operator followed by its version as
// written, such as ">=1.0" for ">= 1.0".
func (s Specifier) String() string { return s.Operator() + s.text }

// AllowsPrereleases reports whether the clause admits pre-releases by
// itself: an inclusive clause (==, ~=, <=, >=, ===) that names a
// pre-release, such as ">=2.0b1", does.
func (s Specifier) AllowsPrereleases() bool { return s.namesPre }

// Contains reports whether v satisfies the clause. A pre-release (or
// development release) v is admitted only when prereleases is true or the
// clause itself names a pre-release (see AllowsPrereleases).
func (s Specifier) Contains(v Version, prereleases bool) bool {
	if !prereleases && !s.namesPre && v.IsPrerelease() {
		return false
	}
	return s.matches(v)
}

// matches applies the operator alone, ignoring the pre-release policy.
func (s *Specifier) matches(v Version) bool {
	switch s.op {
	case opEqual:
		return s.equal(v)
	case opNotEqual:
		return !s.equal(v)
	case opLessEqual:
		return v.publicKey() <= s.v.key
	case opGreaterEqual:
		return v.publicKey() >= s.v.key
	case opLess:
		// PEP 440: <V must not allow a pre-release of V unless V is one.
		return v.key < s.v.key &&
			!(v.IsPrerelease() && !s.v.IsPrerelease() && sameBase(v, s.v))
	case opGreater:
		// PEP 440: >V must not allow a post-release of V unless V is one,
		// nor a local version of V.
		return v.key > s.v.key &&
			!(v.IsPostrelease() && !s.v.IsPostrelease() && sameBase(v, s.v)) &&
			!(v.flags&flagLocal != 0 && sameBase(v, s.v))
	case opCompatible:
		return v.publicKey() >= s.v.key && s.startsWith(v)
	case opArbitrary:
		return asciiEqualFold(v.text, s.text)
	}
	return false
}

func (s *Specifier) equal(v Version) bool {
	switch {
	case s.wildcard:
		return s.startsWith(v)
	case s.v.flags&flagLocal != 0:
		return v.key == s.v.key
	default:
		return v.publicKey() == s.v.key
	}
}

// startsWith reports whether v starts with the clause's prefix.
func (s *Specifier) startsWith(v Version) bool {
	if s.lo != "" {
		return s.lo <= v.key && v.key < s.hi
	}
	return prefixMatch(s.prefix, v.text)
}

// asciiEqualFold compares a and b ignoring the case of ASCII letters only:
// PEP 440 leaves case folding of other text unspecified for ===.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

// sameBase reports whether a and b have the same epoch and release.
func sameBase(a, b Version) bool {
	return a.key[:baseKeyLen(a.key)] == b.key[:baseKeyLen(b.key)]
}

// baseKeyLen returns the length of the epoch and release fields of a sort
// key, their terminator included.
func baseKeyLen(key string) int {
	i := skipNum(key, 0)
	for i < len(key) && key[i] != 0x01 {
		i = skipNum(key, i)
	}
	return min(i+1, len(key))
}

// skipNum returns the index after the number encoded at key[i].
func skipNum(key string, i int) int {
	if i >= len(key) {
		return len(key)
	}
	if key[i] < 0xF0 {
		return min(i+1+max(int(key[i])-2, 0), len(key))
	}
	if i+5 > len(key) {
		return len(key)
	}
	n := int(key[i+1])<<24 | int(key[i+2])<<16 | int(key[i+3])<<8 | int(key[i+4])
	return min(i+5+n, len(key))
}

// splitNormalized splits a normalized public version into its epoch ("" for
// none), its release and the rest (pre-, post- and development parts, such
// as "a1.post2").
func splitNormalized(t string) (epoch, release, rest string) {
	if i := strings.IndexByte(t, '!'); i >= 0 {
		epoch, t = t[:i], t[i+1:]
	}
	i := 0
	for i < len(t) && (isDigit(t[i]) || (t[i] == '.' && i+1 < len(t) && isDigit(t[i+1]))) {
		i++
	}
	return epoch, t[:i], t[i:]
}

func releaseText(t string) string {
	_, release, _ := splitNormalized(t)
	return release
}

// prefixMatch reports whether the normalized version prefix is a prefix of
// the normalized version v, component by component: the epoch, each release
// number (v's release padded with zeros to the length of prefix's, so that
// "1a1" starts with "1.0"), then the pre-release, post-release and
// development parts, each one component as PEP 440 says ("the pre-release
// segment is considered to have an implied preceding .").
func prefixMatch(prefix, v string) bool {
	if i := strings.IndexByte(v, '+'); i >= 0 {
		v = v[:i]
	}
	pe, pr, prest := splitNormalized(prefix)
	ve, vr, vrest := splitNormalized(v)
	if pe != ve {
		return false
	}
	for pr != "" {
		var p, c string
		p, pr = nextNum(pr)
		c, vr = nextNum(vr)
		if c == "" {
			c = "0"
		}
		if p != c {
			return false
		}
	}
	if prest == "" {
		return true
	}
	// The prefix names a pre- or post-release, which follows the whole
	// release: v's release must not be longer.
	if vr != "" {
		return false
	}
	if !strings.HasPrefix(vrest, prest) {
		return false
	}
	next := vrest[len(prest):]
	return next == "" || next[0] == '.'
}

// nextNum splits the first number off a dotted release.
func nextNum(r string) (string, string) {
	if i := strings.IndexByte(r, '.'); i >= 0 {
		return r[:i], r[i+1:]
	}
	return r, ""
}
