package pep440

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/larder-build/larder/internal/pyref"
)

// Differential tests against pip's vendored packaging (see oracle_test.go).
// They run on the committed sample, or on the whole PyPI version column with
// LARDER_DIFFTEST_FULL=1. Every answer must agree with the reference as
// corrected by the recorded deviations; the deviations exercised are counted
// and logged.

// nonASCIIFolded reports whether s holds a non-ASCII letter, which Python's
// case-insensitive regular expression may fold into an ASCII one (the Kelvin
// sign into k): PEP 440 only defines ASCII case-insensitivity.
func nonASCIIFolded(s string) bool {
	for _, r := range s {
		if r > unicode.MaxASCII && unicode.IsLetter(r) {
			return true
		}
	}
	return false
}

func TestParseAgreesWithReference(t *testing.T) {
	vs := corpus(t)
	reqs := make([]oracleRequest, len(vs))
	for i, s := range vs {
		reqs[i] = oracleRequest{K: "parse", S: s}
	}
	answers := askOracle(t, reqs)
	var valid, invalid, renamed, deviations int
	failures := pyref.NewDisagreements(t, 20)
	for i, s := range vs {
		a := answers[i]
		v, err := Parse(s)
		switch {
		case a.OK && err != nil && nonASCIIFolded(s):
			deviations++ // see TestDeviationNonASCIILettersAreNotFolded
		case !a.OK && a.Err != "" && err == nil:
			deviations++ // Python's integer digit limit is not PEP 440's
		case a.OK != (err == nil):
			failures.Errorf("Parse(%q): error %v, reference valid=%v (%q)", s, err, a.OK, a.S)
		case a.OK && v.String() != a.S:
			failures.Errorf("Parse(%q) = %q, reference %q", s, v, a.S)
		}
		if err == nil {
			valid++
			if v.String() != strings.TrimFunc(s, pyIsSpace) {
				renamed++
			}
		} else {
			invalid++
		}
	}
	t.Logf("parse: %d strings, %d valid (%d not in normal form), %d invalid, %d disagreements, %d recorded deviations",
		len(vs), valid, renamed, invalid, failures.N(), deviations)
}

// syntheticVersions returns versions built from a small alphabet, so that
// ties, pre/post/dev combinations and local labels are frequent.
func syntheticVersions(rng *rand.Rand, n int) []string {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		if rng.IntN(10) == 0 {
			b.WriteString(pick("0!", "1!", "2!", "01!"))
		}
		for k, segs := 0, 1+rng.IntN(4); k < segs; k++ {
			if k > 0 {
				b.WriteByte('.')
			}
			b.WriteString(pick("0", "1", "2", "10", "00", "01"))
		}
		if rng.IntN(5) < 2 {
			b.WriteString(pick("a", "b", "rc", "c", ".alpha", "-beta", "pre"))
			b.WriteString(pick("", "0", "1", "2"))
		}
		if rng.IntN(4) == 0 {
			b.WriteString(pick(".post", "-", "post", ".r"))
			b.WriteString(pick("0", "1", "2"))
		}
		if rng.IntN(4) == 0 {
			b.WriteString(pick(".dev", "dev", "-dev"))
			b.WriteString(pick("", "0", "1", "2"))
		}
		if rng.IntN(5) == 0 {
			b.WriteByte('+')
			for k, segs := 0, 1+rng.IntN(3); k < segs; k++ {
				if k > 0 {
					b.WriteString(pick(".", "-", "_"))
				}
				b.WriteString(pick("0", "1", "01", "a", "b", "1a", "abc", "Z"))
			}
		}
		out[i] = b.String()
	}
	return out
}

// validVersions returns the versions of vs that parse, with their spelling.
func validVersions(vs []string) ([]Version, []string) {
	var parsed []Version
	var raw []string
	for _, s := range vs {
		if v, err := Parse(s); err == nil {
			parsed = append(parsed, v)
			raw = append(raw, s)
		}
	}
	return parsed, raw
}

// denseRanks numbers vs by their order, equal versions sharing a number.
func denseRanks(vs []Version) []int {
	order := make([]int, len(vs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return vs[order[a]].Compare(vs[order[b]]) < 0 })
	ranks := make([]int, len(vs))
	r := 0
	for n, i := range order {
		if n > 0 && vs[order[n-1]].Compare(vs[i]) < 0 {
			r++
		}
		ranks[i] = r
	}
	return ranks
}

func TestOrderingAgreesWithReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(440, 1))
	vs, _ := validVersions(append(corpus(t), syntheticVersions(rng, 5000)...))
	texts := make([]string, len(vs))
	for i, v := range vs {
		texts[i] = v.String()
	}
	answers := askOracle(t, []oracleRequest{{K: "rank", Vs: texts}})
	want := answers[0].Ranks
	got := denseRanks(vs)
	if len(want) != len(got) {
		t.Fatalf("the reference ranked %d versions, not %d", len(want), len(got))
	}
	failures := pyref.NewDisagreements(t, 20)
	for i := range got {
		if got[i] != want[i] {
			failures.Errorf("%q has rank %d, reference %d", texts[i], got[i], want[i])
		}
	}
	// The ranks settle every pair at once; random pairs check Compare
	// itself (sign and symmetry) against them.
	pairs := 1_000_000
	sign := func(x int) int { return min(max(x, -1), 1) }
	for k := 0; k < pairs; k++ {
		i, j := rng.IntN(len(vs)), rng.IntN(len(vs))
		c := vs[i].Compare(vs[j])
		if c != sign(want[i]-want[j]) || Compare(vs[j], vs[i]) != -c {
			failures.Errorf("Compare(%q, %q) = %d, reference %d", texts[i], texts[j], c, sign(want[i]-want[j]))
		}
	}
	t.Logf("ordering: %d versions (%d distinct), %d random pairs, %d disagreements",
		len(vs), slices.Max(want)+1, pairs, failures.N())
}

// badClauses are specifier clauses that PEP 440 rejects.
var badClauses = []string{
	"~=1", "~=1!1", "~= 2", "<1.0.*", ">=1.0+a", "<1.0+a", "~=1.0+a", "==1.0.dev1.*",
	"==1.0+a.*", "!=1.0+a.*", "===a b", "==foo", "!=", "=1.0", "<>1", "~=1.0.*",
	"== 1.0 .*", ">=", "1.0", "=>1.0", "==1.*.*", "==.*", ">1.0-", "== v", "<=1.0a1.post",
	"~=1.0.post1.dev2+x", "==1.0.*+x", "> =1.0",
}

// specifierCase builds one random specifier text and the candidate versions
// to try against it, biased towards boundaries: the candidates are mostly
// spellings near the versions the clauses name.
type specifierCase struct {
	text  string
	cands []string
}

type caseGen struct {
	rng  *rand.Rand
	pool []Version
	raw  []string // the spelling each pool version was parsed from
}

func (g *caseGen) pick(xs ...string) string { return xs[g.rng.IntN(len(xs))] }

// release returns v's release truncated or zero-padded to n numbers.
func release(v Version, n int) string {
	r := v.Release()
	parts := make([]string, n)
	for i := range parts {
		parts[i] = "0"
		if i < len(r) {
			parts[i] = fmt.Sprint(r[i])
		}
	}
	return strings.Join(parts, ".")
}

func epochPrefix(v Version) string {
	if e := v.Epoch(); e != 0 {
		return fmt.Sprintf("%d!", e)
	}
	return ""
}

// respell writes a version in another valid spelling, so that clauses are
// not always normalized.
func (g *caseGen) respell(s string) string {
	switch g.rng.IntN(8) {
	case 0:
		return "v" + s
	case 1:
		return strings.ToUpper(s)
	case 2:
		s = strings.Replace(s, "rc", g.pick("c", "-rc", ".pre", "preview", "_RC"), 1)
		s = strings.Replace(s, ".post", g.pick("-", "post", ".r", "-rev"), 1)
		return strings.Replace(s, ".dev", g.pick("dev", "-dev", "_dev"), 1)
	case 3:
		return strings.Replace(s, "a", g.pick(".alpha", "-a", "a."), 1)
	case 4:
		if s != "" && s[0] >= '0' && s[0] <= '9' {
			return "0" + s
		}
	}
	return s
}

func (g *caseGen) version(anchor Version) string {
	n := len(anchor.Release())
	base := epochPrefix(anchor) + release(anchor, 1+g.rng.IntN(n+1))
	switch g.rng.IntN(6) {
	case 0:
		return anchor.String()
	case 1:
		return anchor.Public().String()
	case 2:
		return base
	case 3:
		return base + g.pick("a1", "b2", "rc1", ".post1", ".dev0", "a1.post1", "rc1.dev1", ".post1.dev1")
	default:
		return g.pool[g.rng.IntN(len(g.pool))].Public().String()
	}
}

func (g *caseGen) clause(anchor Version) string {
	if g.rng.IntN(40) == 0 {
		return g.pick(badClauses...)
	}
	op := g.pick("==", "==", "!=", "~=", "~=", "<=", ">=", ">=", "<", "<", ">", ">", "===")
	var ver string
	n := len(anchor.Release())
	switch {
	case op == "===":
		ver = g.pick(anchor.String(), strings.ToUpper(anchor.String()), anchor.Public().String(), "foo", g.raw[g.rng.IntN(len(g.raw))])
	case (op == "==" || op == "!=") && g.rng.IntN(3) == 0:
		ver = epochPrefix(anchor) + release(anchor, 1+g.rng.IntN(n+1))
		if pre, num := anchor.Pre(); pre != "" && g.rng.IntN(3) == 0 {
			ver += fmt.Sprintf("%s%d", pre, num)
		}
		if post, ok := anchor.Post(); ok && g.rng.IntN(3) == 0 {
			ver += fmt.Sprintf(".post%d", post)
		}
		ver = g.respell(ver) + ".*"
	case op == "~=":
		ver = epochPrefix(anchor) + release(anchor, 2+g.rng.IntN(max(n, 2)))
		ver += g.pick("", "", "", "a1", "rc2", ".post1", ".dev3", "b1.post2.dev1")
		ver = g.respell(ver)
	case op == "==" || op == "!=":
		ver = g.respell(g.version(anchor))
		if g.rng.IntN(6) == 0 && anchor.Local() == "" {
			ver += g.pick("+local", "+1", "+abc.5")
		}
	default:
		ver = g.respell(g.version(anchor))
		if i := strings.IndexByte(ver, '+'); i >= 0 {
			ver = ver[:i]
		}
	}
	if g.rng.IntN(5) == 0 {
		return g.pick(" ", "") + op + g.pick(" ", "  ", "\t") + ver + g.pick(" ", "")
	}
	return op + ver
}

func (g *caseGen) candidates(anchor Version) []string {
	var out []string
	for k := 0; k < 6; k++ {
		out = append(out, g.pool[g.rng.IntN(len(g.pool))].String())
	}
	n := len(anchor.Release())
	base := epochPrefix(anchor) + release(anchor, n)
	out = append(out, anchor.String())
	for k := 0; k < 5; k++ {
		out = append(out, g.pick(
			base+g.pick("a1", "b1", "rc1", ".dev0", "a1.dev1", ".post1", ".post1.dev0", "+loc", ".post1+loc", "a1+loc"),
			epochPrefix(anchor)+release(anchor, n+1),
			epochPrefix(anchor)+release(anchor, max(n-1, 1))+g.pick("", ".1", ".9", "a1", ".post2"),
			anchor.Public().String()+"+"+g.pick("1", "abc", "local.2"),
		))
	}
	return out
}

func (g *caseGen) next() specifierCase {
	anchor := g.pool[g.rng.IntN(len(g.pool))]
	var clauses []string
	switch r := g.rng.IntN(20); {
	case r == 0:
	case r < 11:
		clauses = []string{g.clause(anchor)}
	case r < 17:
		clauses = []string{g.clause(anchor), g.clause(anchor)}
	default:
		clauses = []string{g.clause(anchor), g.clause(anchor), g.clause(g.pool[g.rng.IntN(len(g.pool))])}
	}
	text := strings.Join(clauses, g.pick(",", ", ", " , "))
	if g.rng.IntN(30) == 0 {
		text += ","
	}
	return specifierCase{text: text, cands: g.candidates(anchor)}
}

func TestSpecifiersAgreeWithReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(440, 2))
	all := append(corpus(t), syntheticVersions(rng, 5000)...)
	pool, raw := validVersions(all)
	cases := 5_000
	if fullCorpus() {
		cases = 50_000
	}
	g := &caseGen{rng: rng, pool: pool, raw: raw}
	var specCases []specifierCase
	for _, s := range []string{"", ",", " , ", "===", "=== ", "==1.0a1.*", "~=1.0.r1", "~=v1.0", "==0!1.0.*", "==01.0.*"} {
		specCases = append(specCases, specifierCase{text: s, cands: g.candidates(pool[0])})
	}
	for len(specCases) < cases {
		specCases = append(specCases, g.next())
	}
	reqs := make([]oracleRequest, len(specCases))
	cands := make([][]Version, len(specCases))
	for i, c := range specCases {
		for _, s := range c.cands {
			cands[i] = append(cands[i], MustParse(s))
		}
		reqs[i] = oracleRequest{K: "spec", Spec: c.text, Vs: c.cands}
	}
	answers := askOracle(t, reqs)

	var pairs, invalid int
	dev := map[string]int{}
	failures := pyref.NewDisagreements(t, 30)
	fail := failures.Errorf
	for i, c := range specCases {
		a := answers[i]
		for _, d := range a.Dev {
			dev[d]++
		}
		ss, err := ParseSpecifiers(c.text)
		if (err == nil) != a.Valid {
			fail("ParseSpecifiers(%q): error %v, reference valid=%v", c.text, err, a.Valid)
			continue
		}
		if err != nil {
			invalid++
			continue
		}
		if ss.String() != a.Str {
			fail("ParseSpecifiers(%q).String() = %q, reference %q", c.text, ss, a.Str)
		}
		if ss.AllowsPrereleases() != a.Pre {
			fail("%q AllowsPrereleases() = %v, reference %v", c.text, ss.AllowsPrereleases(), a.Pre)
		}
		vs := cands[i]
		for j, v := range vs {
			pairs++
			if got := ss.Contains(v, false); got != a.CN[j] {
				fail("%q Contains(%q, false) = %v, reference %v", c.text, v, got, a.CN[j])
			}
			if got := ss.Contains(v, true); got != a.CT[j] {
				fail("%q Contains(%q, true) = %v, reference %v", c.text, v, got, a.CT[j])
			}
		}
		for _, f := range []struct {
			p    Prereleases
			want []int
		}{{PrereleasesAuto, a.FN}, {PrereleasesAllow, a.FT}, {PrereleasesDeny, a.FF}} {
			want := make([]Version, 0, len(f.want))
			for _, k := range f.want {
				want = append(want, vs[k])
			}
			if got := ss.Filter(vs, f.p); !slices.Equal(got, want) {
				fail("%q Filter(%v, %v) = %v, reference %v", c.text, vs, f.p, got, want)
			}
		}
	}
	t.Logf("specifiers: %d specifier sets (%d invalid), %d version pairs x 2 prerelease settings, 3 filter modes each, %d disagreements; deviations exercised: %v",
		len(specCases), invalid, pairs, failures.N(), dev)
}
