package edxindex

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// This file holds just enough PEP 440 to generate and check the workload.
// resolver/pep440 is the real implementation; this one stays internal so
// that the generator does not depend on the code it is meant to test.

// pre-release kinds, in PEP 440 order.
const (
	preNone = iota
	preAlpha
	preBeta
	preRC
)

// version is a parsed PEP 440 version. post and dev are -1 when absent.
type version struct {
	epoch   int
	release []int
	preKind int
	preNum  int
	post    int
	dev     int
	local   string
}

// maxDigits keeps numbers within int64. Longer numbers (which pep440
// accepts) are an error here: the workload never needs them.
const maxDigits = 18

func parseVersion(s string) (version, error) {
	v := version{post: -1, dev: -1}
	t := strings.ToLower(trimSpace(s))
	t = strings.TrimPrefix(t, "v")
	if i := strings.IndexByte(t, '+'); i >= 0 {
		v.local = t[i+1:]
		t = t[:i]
		if !validLocal(v.local) {
			return version{}, fmt.Errorf("parsing version %q: bad local label", s)
		}
		v.local = normalizeLocal(v.local)
	}
	if i := strings.IndexByte(t, '!'); i >= 0 {
		n, err := atoi(t[:i])
		if err != nil {
			return version{}, fmt.Errorf("parsing version %q: bad epoch", s)
		}
		v.epoch = n
		t = t[i+1:]
	}
	// Release: digits separated by dots.
	for {
		j := 0
		for j < len(t) && t[j] >= '0' && t[j] <= '9' {
			j++
		}
		if j == 0 {
			return version{}, fmt.Errorf("parsing version %q: want a release number", s)
		}
		n, err := atoi(t[:j])
		if err != nil {
			return version{}, fmt.Errorf("parsing version %q: %w", s, err)
		}
		v.release = append(v.release, n)
		t = t[j:]
		if len(t) >= 2 && t[0] == '.' && t[1] >= '0' && t[1] <= '9' {
			t = t[1:]
			continue
		}
		break
	}
	var ok bool
	if v.preKind, v.preNum, t, ok = suffix(t, []string{"alpha", "a", "beta", "b", "preview", "pre", "rc", "c"}); !ok {
		return version{}, fmt.Errorf("parsing version %q: bad pre-release", s)
	}
	if v.post, t, ok = postSuffix(t); !ok {
		return version{}, fmt.Errorf("parsing version %q: bad post-release", s)
	}
	var kind int
	if kind, v.dev, t, ok = suffix(t, []string{"dev"}); !ok {
		return version{}, fmt.Errorf("parsing version %q: bad dev-release", s)
	}
	if kind == preNone {
		v.dev = -1
	}
	if t != "" {
		return version{}, fmt.Errorf("parsing version %q: unexpected %q", s, t)
	}
	return v, nil
}

// trimSpace trims what Python's str.strip() and re's \s trim, which is what
// packaging does with versions: Unicode white space and the ASCII
// separators U+001C to U+001F.
func trimSpace(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f })
}

func atoi(s string) (int, error) {
	digits := strings.TrimLeft(s, "0")
	if s == "" || len(digits) > maxDigits {
		return 0, fmt.Errorf("bad number %q", s)
	}
	if digits == "" {
		return 0, nil
	}
	return strconv.Atoi(digits)
}

func validLocal(s string) bool {
	if s == "" {
		return false
	}
	for _, part := range strings.FieldsFunc(s, isSep) {
		for _, c := range part {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return !isSep(rune(s[0])) && !isSep(rune(s[len(s)-1]))
}

// normalizeLocal joins the segments of a local label with dots and writes
// numeric segments without leading zeros, as packaging does.
func normalizeLocal(s string) string {
	parts := strings.FieldsFunc(s, isSep)
	for i, p := range parts {
		if isDigits(p) {
			if parts[i] = strings.TrimLeft(p, "0"); parts[i] == "" {
				parts[i] = "0"
			}
		}
	}
	return strings.Join(parts, ".")
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isSep(r rune) bool { return r == '.' || r == '-' || r == '_' }

// suffix reads an optional [sep]word[sep][N] where word is one of words; for
// the pre-release words it returns the kind, for "dev" it returns 1.
func suffix(t string, words []string) (kind, n int, rest string, ok bool) {
	u := t
	if u != "" && isSep(rune(u[0])) {
		u = u[1:]
	}
	for _, w := range words {
		if !strings.HasPrefix(u, w) {
			continue
		}
		u = u[len(w):]
		kind = 1
		switch w {
		case "alpha", "a":
			kind = preAlpha
		case "beta", "b":
			kind = preBeta
		case "preview", "pre", "rc", "c":
			kind = preRC
		}
		n, u, ok = number(u)
		return kind, n, u, ok
	}
	return preNone, 0, t, true
}

func postSuffix(t string) (int, string, bool) {
	if strings.HasPrefix(t, "-") && len(t) > 1 && t[1] >= '0' && t[1] <= '9' {
		n, u, ok := number(t[1:])
		return n, u, ok
	}
	kind, n, u, ok := suffix(t, []string{"post", "rev", "r"})
	if kind == preNone {
		return -1, t, ok
	}
	return n, u, ok
}

// number reads the optional [sep][digits] after a label, as PEP 440's
// regular expression does ("1.0a." is 1.0a0); a missing number is 0.
func number(t string) (int, string, bool) {
	u := t
	if u != "" && isSep(rune(u[0])) {
		u = u[1:]
	}
	j := 0
	for j < len(u) && u[j] >= '0' && u[j] <= '9' {
		j++
	}
	if j == 0 {
		return 0, u, true
	}
	n, err := atoi(u[:j])
	if err != nil {
		return 0, t, false
	}
	return n, u[j:], true
}

// String returns the normalized form.
func (v version) String() string {
	var b strings.Builder
	if v.epoch != 0 {
		fmt.Fprintf(&b, "%d!", v.epoch)
	}
	for i, n := range v.release {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(n))
	}
	switch v.preKind {
	case preAlpha:
		fmt.Fprintf(&b, "a%d", v.preNum)
	case preBeta:
		fmt.Fprintf(&b, "b%d", v.preNum)
	case preRC:
		fmt.Fprintf(&b, "rc%d", v.preNum)
	}
	if v.post >= 0 {
		fmt.Fprintf(&b, ".post%d", v.post)
	}
	if v.dev >= 0 {
		fmt.Fprintf(&b, ".dev%d", v.dev)
	}
	if v.local != "" {
		b.WriteString("+" + v.local)
	}
	return b.String()
}

func (v version) isPre() bool { return v.preKind != preNone || v.dev >= 0 }

// public returns v without its local label.
func (v version) public() version {
	v.local = ""
	return v
}

// base returns the release part only (epoch kept).
func (v version) base() version {
	return version{epoch: v.epoch, release: v.release, post: -1, dev: -1}
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compareVersions orders versions by PEP 440.
func compareVersions(a, b version) int {
	if c := cmpInt(a.epoch, b.epoch); c != 0 {
		return c
	}
	for i := 0; i < len(a.release) || i < len(b.release); i++ {
		if c := cmpInt(at(a.release, i), at(b.release, i)); c != 0 {
			return c
		}
	}
	if c := cmpInt(preKey(a), preKey(b)); c != 0 {
		return c
	}
	if c := cmpInt(a.preNum, b.preNum); c != 0 && a.preKind != preNone {
		return c
	}
	if c := cmpInt(a.post, b.post); c != 0 {
		return c
	}
	if c := cmpInt(devKey(a), devKey(b)); c != 0 {
		return c
	}
	return compareLocal(a.local, b.local)
}

func at(r []int, i int) int {
	if i < len(r) {
		return r[i]
	}
	return 0
}

// preKey sorts a dev release of a final (1.0.dev1) before its pre-releases
// and finals after them.
func preKey(v version) int {
	switch {
	case v.preKind != preNone:
		return v.preKind
	case v.post < 0 && v.dev >= 0:
		return -1
	}
	return preRC + 1
}

func devKey(v version) int {
	if v.dev < 0 {
		return int(^uint(0) >> 1)
	}
	return v.dev
}

// compareLocal orders local labels: none first, then segment by segment,
// numbers above words.
func compareLocal(a, b string) int {
	if a == b {
		return 0
	}
	if a == "" {
		return -1
	}
	if b == "" {
		return 1
	}
	as, bs := strings.FieldsFunc(a, isSep), strings.FieldsFunc(b, isSep)
	for i := 0; i < len(as) && i < len(bs); i++ {
		// Segments are normalized: numbers have no leading zeros, so the
		// longer number is the larger.
		an, bn := isDigits(as[i]), isDigits(bs[i])
		switch {
		case an && bn:
			if c := cmpInt(len(as[i]), len(bs[i])); c != 0 {
				return c
			}
			if c := strings.Compare(as[i], bs[i]); c != 0 {
				return c
			}
		case an:
			return 1
		case bn:
			return -1
		default:
			if c := strings.Compare(as[i], bs[i]); c != 0 {
				return c
			}
		}
	}
	return cmpInt(len(as), len(bs))
}

// clause is one comparison of a specifier set, such as ">=1.2".
type clause struct {
	op     string
	ver    version
	raw    string // the version text, for === and prefix matching
	prefix bool   // "==1.2.*" or "!=1.2.*"
}

var operators = []string{"===", "~=", "==", "!=", "<=", ">=", "<", ">"}

func parseSpecifier(s string) ([]clause, error) {
	var out []clause
	if trimSpace(s) == "" {
		return nil, nil
	}
	for _, part := range strings.Split(s, ",") {
		c, err := parseClause(trimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("parsing specifier %q: %w", s, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func parseClause(s string) (clause, error) {
	for _, op := range operators {
		if !strings.HasPrefix(s, op) {
			continue
		}
		raw := trimSpace(s[len(op):])
		c := clause{op: op, raw: raw}
		if op == "===" {
			return c, nil
		}
		if strings.HasSuffix(raw, ".*") && (op == "==" || op == "!=") {
			c.prefix = true
			raw = strings.TrimSuffix(raw, ".*")
		}
		v, err := parseVersion(raw)
		if err != nil {
			return clause{}, err
		}
		if c.prefix && (v.local != "" || v.isPre() || v.post >= 0) {
			return clause{}, fmt.Errorf("prefix match %q: only release numbers supported", s)
		}
		if op == "~=" && len(v.release) < 2 {
			return clause{}, fmt.Errorf("compatible release %q needs two release numbers", s)
		}
		if v.local != "" && op != "==" && op != "!=" {
			return clause{}, fmt.Errorf("local version in %q", s)
		}
		c.ver = v
		return c, nil
	}
	return clause{}, fmt.Errorf("no operator in %q", s)
}

// contains reports whether every clause admits v. Pre-releases are judged
// like any other version: the caller decides whether they are wanted.
func contains(cs []clause, v version) bool {
	for _, c := range cs {
		if !c.admits(v) {
			return false
		}
	}
	return true
}

func (c clause) admits(v version) bool {
	switch c.op {
	case "===":
		return strings.EqualFold(v.String(), c.raw)
	case "==":
		return c.equal(v)
	case "!=":
		return !c.equal(v)
	case "~=":
		prefix := clause{op: "==", prefix: true, ver: version{epoch: c.ver.epoch, release: c.ver.release[:len(c.ver.release)-1]}}
		return compareVersions(v.public(), c.ver) >= 0 && prefix.equal(v)
	case "<=":
		return compareVersions(v.public(), c.ver) <= 0
	case ">=":
		return compareVersions(v.public(), c.ver) >= 0
	case "<":
		if compareVersions(v.public(), c.ver) >= 0 {
			return false
		}
		// <V excludes pre-releases of V itself unless V is one.
		return c.ver.isPre() || !v.isPre() || compareVersions(v.base(), c.ver.base()) != 0
	case ">":
		if compareVersions(v.public(), c.ver) <= 0 {
			return false
		}
		// >V excludes post-releases of V unless V is one.
		return c.ver.post >= 0 || v.post < 0 || compareVersions(v.base(), c.ver.base()) != 0
	}
	return false
}

func (c clause) equal(v version) bool {
	if c.prefix {
		if v.epoch != c.ver.epoch {
			return false
		}
		for i, n := range c.ver.release {
			if at(v.release, i) != n {
				return false
			}
		}
		return true
	}
	if c.ver.local == "" {
		v = v.public()
	}
	return compareVersions(v, c.ver) == 0
}
