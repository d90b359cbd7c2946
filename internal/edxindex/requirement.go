package edxindex

import (
	"fmt"
	"strings"
)

// This file holds just enough PEP 508 to read back what the generator writes
// and the constraint lines: names, extras, version specifiers and markers.
// URL requirements are not supported.

// requirement is a parsed PEP 508 requirement without a URL.
type requirement struct {
	name   string // normalized
	extras []string
	spec   string // the specifier set, without parentheses
	marker string // "" for none
}

func parseRequirement(s string) (requirement, error) {
	var r requirement
	body, marker, _ := strings.Cut(s, ";")
	r.marker = strings.TrimSpace(marker)
	body = strings.TrimSpace(body)
	i := 0
	for i < len(body) && isNameByte(body[i]) {
		i++
	}
	if i == 0 || !isAlnum(body[0]) || !isAlnum(body[i-1]) {
		return requirement{}, fmt.Errorf("parsing requirement %q: bad name", s)
	}
	r.name = normalize(body[:i])
	rest := strings.TrimSpace(body[i:])
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return requirement{}, fmt.Errorf("parsing requirement %q: unclosed extras", s)
		}
		for _, e := range strings.Split(rest[1:end], ",") {
			e = strings.TrimSpace(e)
			if e == "" {
				continue
			}
			if !validName(e) {
				return requirement{}, fmt.Errorf("parsing requirement %q: bad extra %q", s, e)
			}
			r.extras = append(r.extras, normalize(e))
		}
		rest = strings.TrimSpace(rest[end+1:])
	}
	if strings.HasPrefix(rest, "(") {
		if !strings.HasSuffix(rest, ")") {
			return requirement{}, fmt.Errorf("parsing requirement %q: unclosed parenthesis", s)
		}
		rest = strings.TrimSpace(rest[1 : len(rest)-1])
	}
	if strings.HasPrefix(rest, "@") {
		return requirement{}, fmt.Errorf("parsing requirement %q: URL requirements are not supported", s)
	}
	if _, err := parseSpecifier(rest); err != nil {
		return requirement{}, fmt.Errorf("parsing requirement %q: %w", s, err)
	}
	r.spec = rest
	if r.marker != "" {
		if _, err := parseMarker(r.marker); err != nil {
			return requirement{}, fmt.Errorf("parsing requirement %q: %w", s, err)
		}
	}
	return r, nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isNameByte(c byte) bool { return isAlnum(c) || c == '-' || c == '_' || c == '.' }

func validName(s string) bool {
	if s == "" || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}

// normalize is the PEP 503 name normalization, also used for extras (PEP
// 685): runs of "-", "_" and "." become one "-", and letters lower case.
func normalize(s string) string {
	var b strings.Builder
	sep := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '-' || c == '_' || c == '.' {
			if !sep {
				b.WriteByte('-')
			}
			sep = true
			continue
		}
		sep = false
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// environment is the set of marker variables of one target.
type environment map[string]string

// linuxEnv returns the marker environment of CPython 3.MINOR on Linux.
func linuxEnv(minor int, machine string) environment {
	full := fmt.Sprintf("3.%d.4", minor)
	return environment{
		"os_name":                        "posix",
		"sys_platform":                   "linux",
		"platform_system":                "Linux",
		"platform_machine":               machine,
		"platform_release":               "6.1.0",
		"platform_version":               "#1 SMP PREEMPT_DYNAMIC Debian 6.1.0",
		"platform_python_implementation": "CPython",
		"implementation_name":            "cpython",
		"implementation_version":         full,
		"python_version":                 fmt.Sprintf("3.%d", minor),
		"python_full_version":            full,
	}
}

// markerExpr is a parsed marker: either a comparison or an and/or node.
type markerExpr struct {
	op          string // "and", "or", or a comparison operator
	left, right *markerExpr
	lhs, rhs    markerValue
}

type markerValue struct {
	variable string // "" for a literal
	literal  string
}

func parseMarker(s string) (*markerExpr, error) {
	toks, err := tokenizeMarker(s)
	if err != nil {
		return nil, fmt.Errorf("parsing marker %q: %w", s, err)
	}
	p := &markerParser{toks: toks}
	e, err := p.or(0)
	if err != nil {
		return nil, fmt.Errorf("parsing marker %q: %w", s, err)
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("parsing marker %q: unexpected %q", s, p.toks[p.pos])
	}
	return e, nil
}

var markerVariables = map[string]bool{
	"os_name": true, "sys_platform": true, "platform_system": true,
	"platform_machine": true, "platform_release": true, "platform_version": true,
	"platform_python_implementation": true, "implementation_name": true,
	"implementation_version": true, "python_version": true,
	"python_full_version": true, "extra": true,
	// Legacy spellings from PEP 345 still seen in old metadata.
	"os.name": true, "sys.platform": true, "platform.version": true,
	"platform.machine": true, "platform.python_implementation": true,
	"python_implementation": true,
}

func tokenizeMarker(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '(' || c == ')':
			toks = append(toks, string(c))
			i++
		case c == '"' || c == '\'':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				return nil, fmt.Errorf("unclosed string")
			}
			toks = append(toks, s[i:i+end+2])
			i += end + 2
		case strings.ContainsRune("<>=!~", rune(c)):
			j := i
			for j < len(s) && strings.ContainsRune("<>=!~", rune(s[j])) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		default:
			j := i
			for j < len(s) && (isAlnum(s[j]) || s[j] == '_' || s[j] == '.') {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("unexpected %q", s[i:i+1])
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks, nil
}

type markerParser struct {
	toks []string
	pos  int
}

// maxMarkerDepth bounds parenthesis nesting so hostile input cannot
// exhaust the stack.
const maxMarkerDepth = 50

func (p *markerParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *markerParser) or(depth int) (*markerExpr, error)  { return p.chain("or", p.and, depth) }
func (p *markerParser) and(depth int) (*markerExpr, error) { return p.chain("and", p.atom, depth) }

// chain parses operands joined by op, grouping from the left.
func (p *markerParser) chain(op string, operand func(depth int) (*markerExpr, error), depth int) (*markerExpr, error) {
	left, err := operand(depth)
	if err != nil {
		return nil, err
	}
	for p.peek() == op {
		p.pos++
		right, err := operand(depth)
		if err != nil {
			return nil, err
		}
		left = &markerExpr{op: op, left: left, right: right}
	}
	return left, nil
}

func (p *markerParser) atom(depth int) (*markerExpr, error) {
	if p.peek() == "(" {
		if depth >= maxMarkerDepth {
			return nil, fmt.Errorf("nested too deeply")
		}
		p.pos++
		e, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("want )")
		}
		p.pos++
		return e, nil
	}
	lhs, err := p.value()
	if err != nil {
		return nil, err
	}
	op := p.peek()
	switch op {
	case "<", "<=", "==", "!=", ">=", ">", "~=", "===", "in":
		p.pos++
	case "not":
		p.pos++
		if p.peek() != "in" {
			return nil, fmt.Errorf("want in after not")
		}
		p.pos++
		op = "not in"
	default:
		return nil, fmt.Errorf("want a comparison, got %q", op)
	}
	rhs, err := p.value()
	if err != nil {
		return nil, err
	}
	return &markerExpr{op: op, lhs: lhs, rhs: rhs}, nil
}

func (p *markerParser) value() (markerValue, error) {
	t := p.peek()
	if t == "" {
		return markerValue{}, fmt.Errorf("unexpected end")
	}
	p.pos++
	if t[0] == '"' || t[0] == '\'' {
		return markerValue{literal: t[1 : len(t)-1]}, nil
	}
	if !markerVariables[t] {
		return markerValue{}, fmt.Errorf("unknown variable %q", t)
	}
	return markerValue{variable: t}, nil
}

// evaluate reports whether the marker holds in env with the given extra
// ("" when no extra is being evaluated).
func (e *markerExpr) evaluate(env environment, extra string) bool {
	switch e.op {
	case "and":
		return e.left.evaluate(env, extra) && e.right.evaluate(env, extra)
	case "or":
		return e.left.evaluate(env, extra) || e.right.evaluate(env, extra)
	}
	// As packaging does: the variable is looked up on the left; otherwise
	// the right operand names it, even when quoted, and a variable on the
	// right of a variable stands for its own name.
	var lhs, rhs, key string
	if e.lhs.variable != "" {
		key = e.lhs.variable
		lhs, _ = lookup(env, extra, key)
		rhs = e.rhs.text()
	} else {
		key = e.rhs.text()
		v, ok := lookup(env, extra, key)
		if !ok {
			return false
		}
		lhs, rhs = e.lhs.literal, v
	}
	if key == "extra" {
		lhs, rhs = normalize(lhs), normalize(rhs)
	}
	switch e.op {
	case "in":
		return strings.Contains(rhs, lhs)
	case "not in":
		return !strings.Contains(rhs, lhs)
	}
	if v, err := parseVersion(lhs); err == nil && e.op != "===" {
		if cs, err := parseSpecifier(e.op + rhs); err == nil {
			return contains(cs, v)
		}
	}
	switch e.op {
	case "==", "===":
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
	}
	return false
}

func (v markerValue) text() string {
	if v.variable != "" {
		return v.variable
	}
	return v.literal
}

// lookup returns the value of a marker variable, legacy spellings included.
func lookup(env environment, extra, name string) (string, bool) {
	if name == "extra" {
		return extra, true
	}
	if !markerVariables[name] {
		return "", false
	}
	name = strings.ReplaceAll(name, ".", "_")
	if name == "python_implementation" {
		name = "platform_python_implementation"
	}
	return env[name], true
}

// markerHolds parses and evaluates a marker; an empty marker holds.
func markerHolds(marker string, env environment, extra string) (bool, error) {
	if strings.TrimSpace(marker) == "" {
		return true, nil
	}
	e, err := parseMarker(marker)
	if err != nil {
		return false, err
	}
	return e.evaluate(env, extra), nil
}
