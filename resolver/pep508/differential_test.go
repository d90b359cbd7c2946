package pep508

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/pyref"
	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/pep440"
)

// The tests in this file compare the package with pip's vendored packaging
// 21.3 on generated and real markers and requirement strings. Where the
// two differ, the difference must be one of the documented deviations
// (deviations_test.go); the tests say which and count them.

// legacyResult is how packaging 21.3 evaluates a marker, modelled on our
// tree, and which of our documented deviations changed the outcome of a
// comparison.
type legacyResult struct {
	value      bool
	raised     bool // 21.3 raises: UndefinedComparison or UndefinedEnvironmentName
	fallback   bool // lhs not a version against a version specifier: 21.3 says false, we compare strings
	prerelease bool // lhs a pre-release the specifier does not name: 21.3 says false
	extra      bool // an extra name that normalization changes: 21.3 compares it as written
}

// evalLegacy evaluates m as packaging 21.3 does. It shares the parser and
// the specifier check with Evaluate and differs only where 21.3 departs
// from the standard, which it flags.
func evalLegacy(m *Marker, env Environment) legacyResult {
	var res legacyResult
	var walk func(*Marker) bool
	walk = func(m *Marker) bool {
		switch m.kind {
		case andNode, orNode:
			// 21.3 evaluates every comparison, so an error anywhere raises.
			vals := make([]bool, len(m.items))
			for i, it := range m.items {
				vals[i] = walk(it)
			}
			if m.kind == andNode {
				return !slices.Contains(vals, false)
			}
			return slices.Contains(vals, true)
		}
		return legacyCompare(&m.cmp, env, &res)
	}
	res.value = walk(m)
	return res
}

func legacyCompare(c *comparison, env Environment, res *legacyResult) bool {
	var lhs, rhs string
	if c.lhs.variable {
		lhs, rhs = env[c.lhs.text], c.rhs.text
	} else {
		v, ok := env[c.rhs.text]
		if !ok && c.rhs.text != Extra {
			res.raised = true
			return false
		}
		lhs, rhs = c.lhs.text, v
	}
	key := c.lhs.text
	if !c.lhs.variable {
		key = c.rhs.text
	}
	if key == Extra && (dist.NormalizeName(lhs) != lhs || dist.NormalizeName(rhs) != rhs) {
		res.extra = true
	}
	spec, ok := markerSpecifier(c.op, rhs)
	if ok {
		if c.op == "===" {
			return arbitraryEqual(lhs, rhs)
		}
		v, err := pep440.Parse(lhs)
		if err != nil {
			if compare(lhs, c.op, rhs, pep440.Specifier{}, false) {
				res.fallback = true
			}
			return false
		}
		if v.IsPrerelease() && !legacySpecNamesPrerelease(c.op, rhs) {
			if spec.Contains(v, true) {
				res.prerelease = true
			}
			return false
		}
		return spec.Contains(v, true)
	}
	if c.op == "~=" || c.op == "===" {
		res.raised = true
		return false
	}
	return compare(lhs, c.op, rhs, pep440.Specifier{}, false)
}

// legacySpecNamesPrerelease is 21.3's Specifier.prereleases.
func legacySpecNamesPrerelease(op, ver string) bool {
	switch op {
	case "==", ">=", "<=", "~=", "===":
	default:
		return false
	}
	v, err := pep440.Parse(strings.TrimSuffix(strings.TrimFunc(ver, isPySpace), ".*"))
	return err == nil && v.IsPrerelease()
}

// deviationCounts tallies why the two sides differed.
type deviationCounts map[string]int

func (d deviationCounts) String() string {
	var keys []string
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, d[k]))
	}
	return strings.Join(parts, " ")
}

func TestMarkersAgreeWithPackaging(t *testing.T) {
	t.Parallel()
	n := 4000
	real := realMarkers(t)
	valid := append(slices.Clone(real), generatedMarkers(1, n)...)
	markers := append(slices.Clone(valid), mutate(4, valid, n/2)...)
	envs := referenceEnvironments(t)
	answers, _ := askReference(t, envs, markers, nil)

	dev := deviationCounts{}
	evals, rejected := 0, 0
	failures := pyref.NewDisagreements(t, 30)
	fail := failures.Errorf
	for i, s := range markers {
		ref := answers[i]
		m, err := ParseMarker(s)
		if (err == nil) != ref.Valid {
			if why := syntaxDeviation(s); why != "" {
				dev["parse:"+why]++
				continue
			}
			fail("ParseMarker(%q): err = %v; packaging valid = %v (%s)", s, err, ref.Valid, ref.Err)
			continue
		}
		if err != nil {
			rejected++
			continue
		}
		if got := m.String(); got != ref.Str {
			why := markerStringDeviation(got, ref.Str)
			if why == "" {
				fail("ParseMarker(%q).String() = %q, packaging %q", s, got, ref.Str)
				continue
			}
			dev["str:"+why]++
			if strings.Contains(why, "escape") || strings.Contains(why, "tab") {
				// The values differ, so evaluations may too.
				continue
			}
		}
		for j, env := range envs {
			evals++
			got := m.Evaluate(env)
			r := ref.Eval[j]
			legacy := evalLegacy(m, env)
			if legacy.raised != (r.Err != "") {
				fail("%q in env %d: our model of 21.3 raised=%v, packaging err=%q", s, j, legacy.raised, r.Err)
				continue
			}
			if r.ExtraDefaulted {
				dev["eval:extra-unset-is-empty"]++
			}
			switch {
			case r.Err != "":
				dev["eval:packaging-raises-"+r.Err]++
			case legacy.value != r.V:
				fail("%q in env %d: our model of 21.3 = %v, packaging %v", s, j, legacy.value, r.V)
			case got == r.V:
			case legacy.fallback:
				dev["eval:string-fallback"]++
			case legacy.prerelease:
				dev["eval:prerelease-interpreter"]++
			case legacy.extra:
				dev["eval:extra-normalized"]++
			default:
				fail("%q in %v: Evaluate = %v, packaging %v", s, env, got, r.V)
			}
		}
	}
	failures.ReportUnshown()
	t.Logf("%d markers (%d real, %d mutated), both reject %d, %d evaluations in %d environments; deviations: %v",
		len(markers), len(real), len(markers)-len(valid), rejected, evals, len(envs), dev)
}

func TestRequirementsAgreeWithPackaging(t *testing.T) {
	t.Parallel()
	edx := edxRequirements(t)
	seeds := append(realRequirements(t), edx...)
	n := 3000
	generated := generatedRequirements(2, n, edx)
	valid := append(slices.Clone(seeds), generated...)
	reqs := append(slices.Clone(valid), mutate(3, valid, n)...)
	_, answers := askReference(t, nil, nil, reqs)

	dev := deviationCounts{}
	accepted := 0
	failures := pyref.NewDisagreements(t, 30)
	fail := failures.Errorf
	for i, s := range reqs {
		ref := answers[i]
		r, err := ParseRequirement(s)
		if err == nil {
			accepted++
		}
		switch {
		case err != nil && !ref.Valid:
			var se *SyntaxError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), fmt.Sprintf("%q", s)) {
				fail("ParseRequirement(%q) error %v does not quote the input", s, err)
			}
		case err != nil && ref.Valid:
			if why := requirementDeviation(s, ref); why != "" {
				dev["parse:"+why]++
				continue
			}
			fail("ParseRequirement(%q): %v; packaging accepts it as %q", s, err, ref.Str)
		case err == nil && !ref.Valid:
			if why := requirementDeviation(s, ref); why != "" {
				dev["parse:"+why]++
				continue
			}
			fail("ParseRequirement(%q) = %q; packaging rejects it: %s", s, r, ref.Err)
		default:
			if diff := compareRequirement(r, ref); diff != "" {
				if want := ref.Marker; strings.HasPrefix(diff, "marker") && want != nil {
					if why := markerStringDeviation(r.Marker.String(), *want); why != "" {
						dev["str:"+why]++
						continue
					}
				}
				if why := requirementDeviation(s, ref); why != "" {
					dev["fields:"+why]++
					continue
				}
				fail("ParseRequirement(%q): %s", s, diff)
			}
		}
	}
	failures.ReportUnshown()
	for _, s := range edx {
		if pipURLLine.MatchString(s) {
			continue // pip's bare URL lines are not PEP 508
		}
		if _, err := ParseRequirement(s); err != nil {
			t.Errorf("edx-platform line %q: %v", s, err)
		}
	}
	t.Logf("%d requirement strings (%d edx-platform lines, %d accepted by us); deviations: %v", len(reqs), len(edx), accepted, dev)
}

// compareRequirement describes how r differs from the reference's parse.
func compareRequirement(r Requirement, ref refAnswer) string {
	var diffs []string
	if r.Name != ref.Name {
		diffs = append(diffs, fmt.Sprintf("name %q, packaging %q", r.Name, ref.Name))
	}
	var extras []string
	for _, e := range ref.Extras {
		extras = append(extras, dist.NormalizeName(e))
	}
	slices.Sort(extras)
	extras = slices.Compact(extras)
	if !slices.Equal(r.Extras, extras) {
		diffs = append(diffs, fmt.Sprintf("extras %q, packaging %q", r.Extras, ref.Extras))
	}
	if ss, err := pep440.ParseSpecifiers(ref.Spec); err != nil || ss.String() != r.Specifiers.String() {
		diffs = append(diffs, fmt.Sprintf("specifiers %q, packaging %q", r.Specifiers, ref.Spec))
	}
	if r.URL != ref.URL {
		diffs = append(diffs, fmt.Sprintf("url %q, packaging %q", r.URL, ref.URL))
	}
	var want string
	if ref.Marker != nil {
		want = *ref.Marker
	}
	if r.Marker.String() != want {
		diffs = append(diffs, fmt.Sprintf("marker %q, packaging %q", r.Marker, want))
	}
	return strings.Join(diffs, "; ")
}

// requirementDeviation names the documented deviation that explains a
// difference on s, or returns "".
func requirementDeviation(s string, ref refAnswer) string {
	if ref.Legacy {
		// 21.3 falls back to LegacySpecifier; PEP 440 versions only.
		return "legacy-specifier"
	}
	if why := syntaxDeviation(s); why != "" {
		return why
	}
	for _, m := range arbitraryClause.FindAllStringSubmatch(s, -1) {
		if strings.ContainsFunc(m[1], func(r rune) bool { return r > 0x7f || !isVersionByte(byte(r)) }) {
			// 21.3's "===" takes every non-space character, "," ";"
			// and ")" included; the grammar's version characters stop
			// before them.
			return "arbitrary-equality-extent"
		}
	}
	return ""
}

// syntaxDeviation names the documented deviation of the grammar that s
// runs into, or returns "".
func syntaxDeviation(s string) string {
	switch {
	case strings.ContainsAny(s, "\n\r"):
		// pyparsing takes line breaks as whitespace; PEP 508 only spaces and tabs.
		return "line-break"
	case notIn.MatchString(s):
		// PEP 508 allows any whitespace between "not" and "in"; 21.3 one space.
		return "not-in-spacing"
	}
	return ""
}

// markerStringDeviation names the documented deviation that explains why
// our String of a marker differs from packaging 21.3's str, or returns "".
func markerStringDeviation(ours, ref string) string {
	squash := regexp.MustCompile(`[ \t]+`)
	noParens := strings.NewReplacer("(", "", ")", "")
	steps := []struct {
		why string
		f   func(string) string
	}{
		// pyparsing turns the escapes \t \n \r \f in strings into the characters.
		{"escape-in-string", strings.NewReplacer(`\t`, "\t", `\n`, "\n", `\r`, "\r", `\f`, "\f").Replace},
		// 21.3 double-quotes a string holding a double quote: `"""`.
		{"quote-in-string", func(s string) string { return strings.ReplaceAll(s, "'", `"`) }},
		// pyparsing expands tabs, inside strings too.
		{"tab-in-string", func(s string) string { return squash.ReplaceAllString(s, " ") }},
		// 21.3 drops the parentheses of "((a or b))" inside an "and".
		{"doubled-parentheses", noParens.Replace},
	}
	var why []string
	for _, st := range steps {
		if ours == ref {
			break
		}
		a, b := st.f(ours), st.f(ref)
		if a != ours || b != ref {
			why = append(why, st.why)
		}
		ours, ref = a, b
	}
	if ours != ref {
		return ""
	}
	return strings.Join(why, "+")
}

var (
	arbitraryClause = regexp.MustCompile(`===[ \t]*(\S*)`)
	pipURLLine      = regexp.MustCompile(`^[a-zA-Z+]+://`)
	notIn           = regexp.MustCompile(`not(\t| [ \t])[ \t]*in`)
)
