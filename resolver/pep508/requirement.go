package pep508

import (
	"github.com/larder-build/larder/resolver/dist"
	"slices"
	"strings"

	"github.com/larder-build/larder/resolver/pep440"
)

// Requirement is a parsed PEP 508 dependency specifier, such as
// `requests[socks]>=2.8,<3; python_version < "3.12"` or
// `pkg @ https://example.com/pkg-1.0.tar.gz`. It has either Specifiers or a
// URL, never both.
type Requirement struct {
	// Name is the project name as written; NormalizedName compares.
	Name string
	// Extras are the requested extras, normalized (PEP 685), sorted and
	// without duplicates.
	Extras []string
	// Specifiers constrain the version; empty matches every version.
	Specifiers pep440.Specifiers
	// URL is the direct reference after "@", or "".
	URL string
	// Marker says where the requirement applies; nil means everywhere.
	Marker *Marker
}

// NormalizedName returns the project name normalized per PEP 503, the form
// in which names compare and appear in index URLs.
func (r Requirement) NormalizedName() string { return dist.NormalizeName(r.Name) }

// ParseRequirement parses one dependency specifier. Comments and pip's
// options (-r, --hash...) are not part of PEP 508: the caller removes them.
func ParseRequirement(s string) (Requirement, error) {
	sc := &scanner{s: s}
	var r Requirement
	sc.skipSpace()
	name, err := sc.identifier("package name")
	if err != nil {
		return Requirement{}, err
	}
	r.Name = name
	sc.skipSpace()
	if sc.peek() == '[' {
		if r.Extras, err = sc.extras(); err != nil {
			return Requirement{}, err
		}
		sc.skipSpace()
	}
	expected := `version specifier, "@ URL", ";" or end`
	if sc.peek() == '@' {
		if r.URL, err = sc.url(); err != nil {
			return Requirement{}, err
		}
		// The URL runs to the next whitespace, so a ";" right after it
		// would belong to the URL: the grammar asks for whitespace first.
		expected = `";" or end after URL`
	} else if r.Specifiers, err = sc.versionSpec(); err != nil {
		return Requirement{}, err
	}
	sc.skipSpace()
	if sc.eof() {
		return r, nil
	}
	if sc.peek() != ';' {
		return Requirement{}, sc.errorf(sc.pos, "expected %s, found %s", expected, sc.found(sc.pos))
	}
	semi := sc.pos
	sc.pos++
	sc.skipSpace()
	if sc.eof() {
		return Requirement{}, sc.errorf(semi, `expected marker after ";"`)
	}
	if r.Marker, err = sc.marker(); err != nil {
		return Requirement{}, err
	}
	sc.skipSpace()
	if !sc.eof() {
		return Requirement{}, sc.errorf(sc.pos, `expected "and", "or" or end of marker, found %s`, sc.found(sc.pos))
	}
	return r, nil
}

// identifier parses a PEP 508 identifier: ASCII letters and digits, with
// runs of "-", "_" and "." allowed between them.
func (sc *scanner) identifier(what string) (string, error) {
	start := sc.pos
	if !isAlnum(sc.peek()) {
		return "", sc.errorf(start, "expected %s, found %s", what, sc.found(start))
	}
	end := start
	for i := start; i < len(sc.s); i++ {
		c := sc.s[i]
		if isAlnum(c) {
			end = i + 1
		} else if c != '-' && c != '_' && c != '.' {
			break
		}
	}
	sc.pos = end
	return sc.s[start:end], nil
}

// extras parses "[a, b]" into normalized, sorted, distinct names.
func (sc *scanner) extras() ([]string, error) {
	open := sc.pos
	sc.pos++ // '['
	sc.skipSpace()
	var extras []string
	if sc.peek() != ']' {
		for {
			e, err := sc.identifier("extra name")
			if err != nil {
				return nil, err
			}
			extras = append(extras, dist.NormalizeName(e))
			sc.skipSpace()
			if sc.peek() != ',' {
				break
			}
			sc.pos++
			sc.skipSpace()
		}
	}
	if !sc.consume("]") {
		return nil, sc.errorf(sc.pos, `expected "," or "]" to close "[" at column %d, found %s`, open+1, sc.found(sc.pos))
	}
	slices.Sort(extras)
	return slices.Compact(extras), nil
}

func (sc *scanner) url() (string, error) {
	at := sc.pos
	sc.pos++ // '@'
	sc.skipSpace()
	start := sc.pos
	for sc.pos < len(sc.s) && !isSpace(sc.s[sc.pos]) {
		if c := sc.s[sc.pos]; c < 0x20 || c == 0x7f {
			return "", sc.errorf(sc.pos, "control character %q in URL", c)
		}
		sc.pos++
	}
	u := sc.s[start:sc.pos]
	if u == "" {
		return "", sc.errorf(at, `expected URL after "@"`)
	}
	if !validURL(u) {
		if strings.HasPrefix(strings.ToLower(u), "file:") {
			return "", sc.errorf(start, "invalid file URL %q (want file:///path or file://host/path)", u)
		}
		return "", sc.errorf(start, "invalid URL %q: want scheme://host/...", u)
	}
	return u, nil
}

// versionSpec parses an optional specifier set, bare or in parentheses, and
// returns the empty set when there is none.
func (sc *scanner) versionSpec() (pep440.Specifiers, error) {
	open := -1
	if sc.peek() == '(' {
		open = sc.pos
		sc.pos++
		sc.skipSpace()
	} else if !isOperatorStart(sc.peek()) {
		return nil, nil
	}
	var clauses []string
	for {
		c, err := sc.clause()
		if err != nil {
			return nil, err
		}
		clauses = append(clauses, c)
		sc.skipSpace()
		if sc.peek() != ',' {
			break
		}
		sc.pos++
		sc.skipSpace()
	}
	if open >= 0 && !sc.consume(")") {
		return nil, sc.errorf(sc.pos, `expected "," or ")" to close "(" at column %d, found %s`, open+1, sc.found(sc.pos))
	}
	specs, err := pep440.ParseSpecifiers(strings.Join(clauses, ","))
	if err != nil {
		// Each clause parsed alone, so the set itself is at fault.
		return nil, sc.errorf(max(open, 0), "invalid specifier set: %v", err)
	}
	return specs, nil
}

// clause parses one "op version", checking the version against PEP 440.
func (sc *scanner) clause() (string, error) {
	start := sc.pos
	op := ""
	for _, o := range operators {
		if sc.consume(o) {
			op = o
			break
		}
	}
	if op == "" {
		return "", sc.errorf(start, "expected version operator (==, !=, <, <=, >, >=, ~=, ===), found %s", sc.found(start))
	}
	sc.skipSpace()
	vstart := sc.pos
	for sc.pos < len(sc.s) && isVersionByte(sc.s[sc.pos]) {
		sc.pos++
	}
	ver := sc.s[vstart:sc.pos]
	if ver == "" {
		return "", sc.errorf(vstart, "expected version after %q, found %s", op, sc.found(vstart))
	}
	c := op + ver
	if _, err := pep440.ParseSpecifier(c); err != nil {
		// pep440 says why after its sentinel; the input is quoted already.
		_, why, ok := strings.Cut(err.Error(), pep440.ErrInvalidSpecifier.Error()+": ")
		if !ok {
			why = err.Error()
		}
		return "", sc.errorf(start, "invalid version specifier %q (%s)", c, why)
	}
	return c, nil
}

func isOperatorStart(c byte) bool {
	return c == '=' || c == '!' || c == '<' || c == '>' || c == '~'
}

// isVersionByte is the grammar's version character class: letters, digits
// and "-_.*+!".
func isVersionByte(c byte) bool {
	return isAlnum(c) || strings.IndexByte("-_.*+!", c) >= 0
}

// String returns the requirement in canonical form: the name as written,
// normalized sorted extras, the specifiers sorted, then "@ URL" and the
// marker, e.g. `requests[socks]<3,>=2.8; python_version < "3.12"` or
// `pkg @ https://example.com/pkg.whl ; os_name == "posix"`.
func (r Requirement) String() string {
	var b strings.Builder
	b.WriteString(r.Name)
	if len(r.Extras) > 0 {
		b.WriteByte('[')
		b.WriteString(strings.Join(r.Extras, ","))
		b.WriteByte(']')
	}
	if r.URL != "" {
		b.WriteString(" @ ")
		b.WriteString(r.URL)
		if r.Marker != nil {
			b.WriteByte(' ')
		}
	} else {
		b.WriteString(r.Specifiers.String())
	}
	if r.Marker != nil {
		b.WriteString("; ")
		b.WriteString(r.Marker.String())
	}
	return b.String()
}
