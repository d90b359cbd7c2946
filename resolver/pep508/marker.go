package pep508

import (
	"github.com/larder-build/larder/resolver/dist"
	"slices"
	"strings"
	"unicode"

	"github.com/larder-build/larder/resolver/pep440"
)

// Marker is a parsed environment marker: a tree of comparisons such as
// `python_version < "3.11"` joined by "and" and "or". The nil *Marker is the
// absent marker, which holds in every environment. A Marker is not changed
// after parsing and is safe for concurrent use.
type Marker struct {
	kind nodeKind
	// grouped records parentheses the author wrote around an "and" or "or",
	// which String keeps (as packaging does) even where precedence makes
	// them redundant.
	grouped bool
	items   []*Marker // operands of an "and" or "or"
	cmp     comparison
}

type nodeKind uint8

const (
	leafNode nodeKind = iota
	andNode
	orNode
)

// comparison is one `lhs op rhs` of a marker. Either side may be a variable
// or a quoted string, as the grammar allows.
type comparison struct {
	lhs, rhs operand
	op       string // as String writes it: "==", "not in", ...
	// spec caches the specifier built from a literal right-hand side, which
	// is the usual shape (`python_version >= "3.8"`), so that evaluation
	// does not parse it again.
	spec    pep440.Specifier
	hasSpec bool
}

type operand struct {
	variable bool
	text     string // the canonical variable name, or the string's value
}

// variables lists every name packaging 21.3 accepts, legacy spellings
// (PEP 345 and setuptools) mapped to the PEP 508 name.
var variables = []struct{ spelled, name string }{
	{"implementation_version", ImplementationVersion},
	{"platform_python_implementation", PlatformPythonImplementation},
	{"implementation_name", ImplementationName},
	{"python_full_version", PythonFullVersion},
	{"platform_release", PlatformRelease},
	{"platform_version", PlatformVersion},
	{"platform_machine", PlatformMachine},
	{"platform_system", PlatformSystem},
	{"python_version", PythonVersion},
	{"sys_platform", SysPlatform},
	{"os_name", OSName},
	{"os.name", OSName},
	{"sys.platform", SysPlatform},
	{"platform.version", PlatformVersion},
	{"platform.machine", PlatformMachine},
	{"platform.python_implementation", PlatformPythonImplementation},
	{"python_implementation", PlatformPythonImplementation},
	{"dependency_groups", DependencyGroups},
	{"extras", Extras},
	{"extra", Extra},
}

// operators in the order they must be tried: longer spellings first.
var operators = []string{"===", "==", "!=", "<=", ">=", "~=", "<", ">"}

// ParseMarker parses an environment marker such as
// `python_version >= "3.8" and sys_platform != "win32"`. Surrounding
// whitespace is allowed.
func ParseMarker(s string) (*Marker, error) {
	sc := &scanner{s: s}
	m, err := sc.marker()
	if err != nil {
		return nil, err
	}
	sc.skipSpace()
	if !sc.eof() {
		return nil, sc.errorf(sc.pos, `expected "and", "or" or end of marker, found %s`, sc.found(sc.pos))
	}
	return m, nil
}

// marker parses a whole marker expression starting at the scanner's
// position and leaves the scanner after it.
func (sc *scanner) marker() (*Marker, error) {
	m, err := sc.or(0)
	if err != nil {
		return nil, err
	}
	// Parentheses around the whole marker say nothing; packaging drops them.
	m.grouped = false
	return m, nil
}

func (sc *scanner) or(depth int) (*Marker, error) {
	return sc.chain(depth, "or", orNode, sc.and)
}

func (sc *scanner) and(depth int) (*Marker, error) {
	return sc.chain(depth, "and", andNode, sc.expr)
}

// chain parses operands separated by the keyword kw into one node of kind,
// or returns the single operand when there is no keyword.
func (sc *scanner) chain(depth int, kw string, kind nodeKind, operand func(int) (*Marker, error)) (*Marker, error) {
	first, err := operand(depth)
	if err != nil {
		return nil, err
	}
	var items []*Marker
	for {
		save := sc.pos
		sc.skipSpace()
		if !sc.consume(kw) {
			sc.pos = save
			break
		}
		next, err := operand(depth)
		if err != nil {
			return nil, err
		}
		if items == nil {
			items = []*Marker{first}
		}
		items = append(items, next)
	}
	if items == nil {
		return first, nil
	}
	return &Marker{kind: kind, items: items}, nil
}

func (sc *scanner) expr(depth int) (*Marker, error) {
	sc.skipSpace()
	if sc.peek() == '(' {
		open := sc.pos
		if depth >= maxDepth {
			return nil, sc.errorf(open, "marker nested more than %d parentheses deep", maxDepth)
		}
		sc.pos++
		m, err := sc.or(depth + 1)
		if err != nil {
			return nil, err
		}
		sc.skipSpace()
		if !sc.consume(")") {
			return nil, sc.errorf(sc.pos, `expected ")" to close "(" at column %d, found %s`, open+1, sc.found(sc.pos))
		}
		if m.kind != leafNode {
			m.grouped = true
		}
		return m, nil
	}
	lhs, err := sc.operand()
	if err != nil {
		return nil, err
	}
	op, err := sc.operator(lhs)
	if err != nil {
		return nil, err
	}
	rhs, err := sc.operand()
	if err != nil {
		return nil, err
	}
	return &Marker{cmp: newComparison(lhs, op, rhs)}, nil
}

// operand parses a marker variable or a quoted string.
func (sc *scanner) operand() (operand, error) {
	sc.skipSpace()
	start := sc.pos
	switch q := sc.peek(); q {
	case '"', '\'':
		for i := start + 1; i < len(sc.s); i++ {
			switch sc.s[i] {
			case q:
				sc.pos = i + 1
				return operand{text: sc.s[start+1 : i]}, nil
			case '\n', '\r':
				return operand{}, sc.errorf(start, "unterminated string: line break before closing %c", q)
			}
		}
		return operand{}, sc.errorf(start, "unterminated string: no closing %c", q)
	}
	// Like the grammar (and packaging 21.3), a variable name needs no word
	// boundary after it: `os_name=="posix"` and `os_namein"posix"` parse.
	for _, v := range variables {
		if sc.consume(v.spelled) {
			return operand{variable: true, text: v.name}, nil
		}
	}
	if w := sc.word(start); w != "" {
		return operand{}, sc.errorf(start, "unknown marker variable %q", w)
	}
	return operand{}, sc.errorf(start, "expected marker variable or quoted string, found %s", sc.found(start))
}

// word returns the identifier-like text at pos, for error messages.
func (sc *scanner) word(pos int) string {
	end := pos
	for end < len(sc.s) && (isAlnum(sc.s[end]) || sc.s[end] == '_' || sc.s[end] == '.') {
		end++
	}
	return sc.s[pos:end]
}

func (sc *scanner) operator(lhs operand) (string, error) {
	sc.skipSpace()
	start := sc.pos
	for _, op := range operators {
		if sc.consume(op) {
			return op, nil
		}
	}
	if sc.consume("in") {
		return "in", nil
	}
	if sc.consume("not") {
		// The grammar allows any whitespace between "not" and "in";
		// packaging 21.3 only a single space.
		if sc.skipSpace() && sc.consume("in") {
			return "not in", nil
		}
		return "", sc.errorf(start, `expected "not in", found %s`, sc.found(start))
	}
	if lhs.variable && start > 0 && isWordByte(sc.s[start-1]) && isWordByte(sc.peek()) {
		// `python_versions >= "3"` matched the variable as a prefix.
		begin := start - 1
		for begin > 0 && isWordByte(sc.s[begin-1]) {
			begin--
		}
		return "", sc.errorf(begin, "unknown marker variable %q", sc.word(begin))
	}
	return "", sc.errorf(start, "expected comparison operator (==, !=, <, <=, >, >=, ~=, ===, in, not in), found %s", sc.found(start))
}

func isWordByte(c byte) bool { return isAlnum(c) || c == '_' || c == '.' }

func newComparison(lhs operand, op string, rhs operand) comparison {
	c := comparison{lhs: lhs, op: op, rhs: rhs}
	if lhs.variable && !rhs.variable {
		val := rhs.text
		if lhs.text == Extra {
			val = dist.NormalizeName(val)
		}
		c.spec, c.hasSpec = markerSpecifier(op, val)
	}
	return c
}

// Evaluate reports whether the marker holds in env. A nil marker always
// holds. A variable missing from env counts as "", so a marker that tests
// "extra" in an environment without one sees no extra (packaging 21.3
// raises an error there instead).
func (m *Marker) Evaluate(env Environment) bool {
	return m.eval(env, nil)
}

// EvaluateExtras reports whether the marker holds in env for any one of
// extras, or, when extras is empty, with no extra. It is how an installer
// decides whether a dependency applies to a requirement with extras.
func (m *Marker) EvaluateExtras(env Environment, extras []string) bool {
	if len(extras) == 0 {
		none := ""
		return m.eval(env, &none)
	}
	for i := range extras {
		if m.eval(env, &extras[i]) {
			return true
		}
	}
	return false
}

// eval evaluates with "extra" taken from *extra instead of env when extra
// is not nil, which spares EvaluateExtras a copy of env per extra.
func (m *Marker) eval(env Environment, extra *string) bool {
	if m == nil {
		return true
	}
	switch m.kind {
	case andNode:
		for _, it := range m.items {
			if !it.eval(env, extra) {
				return false
			}
		}
		return true
	case orNode:
		for _, it := range m.items {
			if it.eval(env, extra) {
				return true
			}
		}
		return false
	}
	return m.cmp.eval(env, extra)
}

func lookup(env Environment, extra *string, name string) (string, bool) {
	if name == Extra && extra != nil {
		return *extra, true
	}
	v, ok := env[name]
	if !ok && isVariable(name) {
		return "", true
	}
	return v, ok
}

func isVariable(name string) bool {
	for _, v := range variables {
		if v.name == name {
			return true
		}
	}
	return false
}

func (c *comparison) eval(env Environment, extra *string) bool {
	// As in packaging, the variable is looked up on the left; otherwise the
	// right operand names it, even when it is a quoted string, and a
	// variable on the right of a variable is compared by its name.
	var lhs, rhs, key string
	if c.lhs.variable {
		key = c.lhs.text
		lhs, _ = lookup(env, extra, key)
		rhs = c.rhs.text
	} else {
		key = c.rhs.text
		v, ok := lookup(env, extra, key)
		if !ok {
			return false // packaging: UndefinedEnvironmentName
		}
		lhs, rhs = c.lhs.text, v
	}
	if key == Extras || key == DependencyGroups {
		return setMembership(c, lhs, rhs)
	}
	if key == Extra {
		// PEP 685: "When comparing extra names, tools MUST normalize the
		// names being compared using the semantics outlined in PEP 503".
		lhs, rhs = dist.NormalizeName(lhs), dist.NormalizeName(rhs)
	}
	if c.hasSpec {
		return compare(lhs, c.op, rhs, c.spec, true)
	}
	if c.lhs.variable && !c.rhs.variable {
		return compare(lhs, c.op, rhs, pep440.Specifier{}, false)
	}
	spec, ok := markerSpecifier(c.op, rhs)
	return compare(lhs, c.op, rhs, spec, ok)
}

// compare applies op to lhs and rhs the way PEP 508 says: as a PEP 440
// version comparison when rhs makes a valid specifier with op and lhs is a
// valid version, else as Python compares strings. Operators Python strings
// do not have ("~=") are false where the standard asks for an error.
func compare(lhs, op, rhs string, spec pep440.Specifier, hasSpec bool) bool {
	if hasSpec {
		if op == "===" {
			return arbitraryEqual(lhs, rhs)
		}
		if v, err := pep440.Parse(lhs); err == nil {
			// An installed interpreter's own version counts even when it
			// is a pre-release, as in packaging 22 and later.
			return spec.Contains(v, true)
		}
		// "If there is no defined behaviour of this specification and the
		// operator exists in Python, then the operator falls back to the
		// Python behaviour."
	}
	switch op {
	case "==":
		return lhs == rhs
	case "!=":
		return lhs != rhs
	case "<":
		return lhs < rhs
	case "<=":
		return lhs <= rhs
	case ">":
		return lhs > rhs
	case ">=":
		return lhs >= rhs
	case "in":
		return strings.Contains(rhs, lhs)
	case "not in":
		return !strings.Contains(rhs, lhs)
	}
	return false
}

// arbitraryEqual is PEP 440's "===": case-insensitive string equality, of
// the normalized version when lhs is one (as packaging compares
// str(parse(lhs))).
func arbitraryEqual(lhs, rhs string) bool {
	if v, err := pep440.Parse(lhs); err == nil {
		lhs = v.String()
	}
	return strings.EqualFold(lhs, strings.TrimFunc(rhs, isPySpace))
}

// markerSpecifier builds the specifier op+rhs and reports whether it is a
// valid PEP 440 specifier, which decides between version and string
// comparison.
func markerSpecifier(op, rhs string) (pep440.Specifier, bool) {
	switch op {
	case "in", "not in":
		return pep440.Specifier{}, false
	case "===":
		// Anything without inner whitespace is a valid arbitrary
		// equality, even the empty string.
		if strings.ContainsFunc(strings.TrimFunc(rhs, isPySpace), isPySpace) {
			return pep440.Specifier{}, false
		}
		return pep440.Specifier{}, true
	}
	if strings.ContainsFunc(rhs, func(r rune) bool { return r > unicode.MaxASCII }) {
		// packaging's pattern would let a few non-ASCII letters and
		// spaces through; no real version has them.
		return pep440.Specifier{}, false
	}
	if !startsLikeVersion(strings.TrimLeftFunc(rhs, isPySpace)) {
		// Most marker strings ("win32", "CPython") are no version; this
		// spares building the error that says so.
		return pep440.Specifier{}, false
	}
	spec, err := pep440.ParseSpecifier(op + rhs)
	return spec, err == nil
}

// startsLikeVersion reports whether s can begin a PEP 440 version, which
// starts with a digit after an optional "v".
func startsLikeVersion(s string) bool {
	if s != "" && (s[0] == 'v' || s[0] == 'V') {
		s = s[1:]
	}
	return s != "" && '0' <= s[0] && s[0] <= '9'
}

// isPySpace is Python's str.isspace, which its regular expressions use
// for \s.
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || 0x1c <= r && r <= 0x1f
}

// Extras returns the normalized extra names the marker compares "extra"
// with, sorted and without duplicates: those for which a requirement's
// dependency may apply.
func (m *Marker) Extras() []string {
	var out []string
	m.walk(func(c *comparison) {
		switch {
		case c.lhs.variable && c.lhs.text == Extra && !c.rhs.variable:
			out = append(out, dist.NormalizeName(c.rhs.text))
		case c.rhs.variable && c.rhs.text == Extra && !c.lhs.variable:
			out = append(out, dist.NormalizeName(c.lhs.text))
		}
	})
	slices.Sort(out)
	return slices.Compact(out)
}

func (m *Marker) walk(f func(*comparison)) {
	if m == nil {
		return
	}
	if m.kind == leafNode {
		f(&m.cmp)
		return
	}
	for _, it := range m.items {
		it.walk(f)
	}
}

// String returns the marker in canonical form: single spaces around
// operators and keywords, legacy variable names replaced by PEP 508 ones,
// strings in double quotes (single quotes when the string holds a double
// quote), and the author's parentheses around "and" and "or" groups kept.
func (m *Marker) String() string {
	if m == nil {
		return ""
	}
	var b strings.Builder
	m.format(&b, nil)
	return b.String()
}

func (m *Marker) format(b *strings.Builder, parent *Marker) {
	if m.kind == leafNode {
		m.cmp.lhs.format(b)
		b.WriteByte(' ')
		b.WriteString(m.cmp.op)
		b.WriteByte(' ')
		m.cmp.rhs.format(b)
		return
	}
	paren := parent != nil && (m.grouped || parent.kind == andNode && m.kind == orNode)
	if paren {
		b.WriteByte('(')
	}
	kw := " and "
	if m.kind == orNode {
		kw = " or "
	}
	for i, it := range m.items {
		if i > 0 {
			b.WriteString(kw)
		}
		it.format(b, m)
	}
	if paren {
		b.WriteByte(')')
	}
}

func (o operand) format(b *strings.Builder) {
	if o.variable {
		b.WriteString(o.text)
		return
	}
	q := byte('"')
	if strings.IndexByte(o.text, '"') >= 0 {
		q = '\''
	}
	b.WriteByte(q)
	b.WriteString(o.text)
	b.WriteByte(q)
}

// setMembership evaluates PEP 751's set-valued variables, "extras" and
// "dependency_groups": only `"name" in extras` and `not in` mean
// something; the environment holds the set as comma-separated names.
func setMembership(c *comparison, lhs, rhs string) bool {
	if c.lhs.variable || !c.rhs.variable {
		return false
	}
	member := false
	want := dist.NormalizeName(lhs)
	for _, x := range strings.Split(rhs, ",") {
		if x != "" && dist.NormalizeName(x) == want {
			member = true
			break
		}
	}
	switch c.op {
	case "in":
		return member
	case "not in":
		return !member
	}
	return false
}
