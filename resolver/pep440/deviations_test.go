package pep440

import (
	"slices"
	"testing"
)

// The deliberate deviations from the reference, pip 23.2's vendored
// packaging 21.3. Each follows the text of the version specifiers
// specification (PEP 440, packaging.python.org/specifications/
// version-specifiers), quoted, and most match what later packaging releases
// fixed. TestDeviationsDifferFromTheReference checks that 21.3 really
// answers otherwise, so that the list stays honest; the differential tests
// count how often each deviation changed an answer.

// deviation is one case where larder and packaging 21.3 answer differently.
type deviation struct {
	name string
	spec string   // a specifier set, or "" for a version-only case
	vs   []string // candidates
	// larder's answers: Contains(v, true) for each candidate, and
	// Filter(vs, PrereleasesAuto); the reference's are the opposite where
	// the case says so.
	contains []bool
	filter   []string
	// what packaging 21.3 answers instead
	refContains []bool
	refFilter   []string
	refString   string // when the set's String differs
	legacy      bool   // 21.3 accepts the set only as a LegacySpecifier
}

var deviations = []deviation{
	// "These syntaxes MUST be considered when parsing a version, however
	// they should be "normalized" to the standard syntax" and "The
	// specified version identifier must be in the standard format [...] but
	// a trailing .* is permitted". 21.3 compares the clause's text as
	// written, so a "v", a leading zero, an explicit zero epoch or an
	// alternative spelling makes ~= and .* match nothing (or too little).
	{name: "~= with a leading v", spec: "~=v1.0", vs: []string{"1.5"},
		contains: []bool{true}, filter: []string{"1.5"}, refContains: []bool{false}, refFilter: []string{}},
	{name: ".* with a leading zero", spec: "==01.0.*", vs: []string{"1.0.5"},
		contains: []bool{true}, filter: []string{"1.0.5"}, refContains: []bool{false}, refFilter: []string{}},
	{name: ".* with a zero epoch", spec: "==0!1.0.*", vs: []string{"1.0"},
		contains: []bool{true}, filter: []string{"1.0"}, refContains: []bool{false}, refFilter: []string{}},
	{name: "!= .* with a zero epoch", spec: "!=0!1.0.*", vs: []string{"1.0"},
		contains: []bool{false}, filter: []string{}, refContains: []bool{true}, refFilter: []string{"1.0"}},
	// "If a pre-release, post-release or developmental release is named in
	// a compatible release clause as V.N.suffix, then the suffix is ignored
	// when determining the required prefix match": 21.3 does not recognize
	// the suffix spelled ".r1" and requires the prefix 1.0.
	{name: "~= with an alternative post-release spelling", spec: "~=1.0.r1", vs: []string{"1.1"},
		contains: []bool{true}, filter: []string{"1.1"}, refContains: []bool{false}, refFilter: []string{}},
	// "If the specified version includes only a release segment, then
	// trailing components (or the lack thereof) in the release segment are
	// also ignored": 1a1 is 1.0a1, so it starts with 1.0. 21.3 shortens
	// the candidate before padding it (pypa/packaging#559, fixed in 22.0).
	{name: ".* against a shorter release with a suffix", spec: "==1.0.*", vs: []string{"1a1", "1.post1"},
		contains: []bool{true, true}, filter: []string{"1.post1"},
		refContains: []bool{false, false}, refFilter: []string{}},
	// "By default, dependency resolution tools SHOULD: [...] accept
	// remotely available pre-releases for version specifiers where there is
	// no final or post release that satisfies the version specifier". 21.3
	// does so for the empty set only (pypa/packaging#917, fixed in 26.0).
	{name: "fallback to pre-releases", spec: ">=1.0", vs: []string{"0.9", "1.1a1", "1.2b1"},
		contains: []bool{false, true, true}, filter: []string{"1.1a1", "1.2b1"},
		refContains: []bool{false, true, true}, refFilter: []string{}},
	// "Tools SHOULD ignore any versions which cannot be parsed by the rules
	// in this specification": no LegacyVersion, no LegacySpecifier (removed
	// in packaging 22.0).
	{name: "legacy specifier", spec: "==foo", legacy: true},
	{name: "legacy specifier without a version", spec: ">=1.0,==", legacy: true},
	// Clauses that state different constraints are both kept: ~=1.0 is
	// ">=1.0, ==1.*" while ~=1.0.0 is ">=1.0.0, ==1.0.*", and "Arbitrary
	// equality comparisons are simple string equality operations which do
	// not take into account any of the semantic information such as zero
	// padding". 21.3 keeps one of each pair.
	{name: "~= keeps its trailing zeros", spec: "~=1.0,~=1.0.0", vs: []string{"1.0.5"},
		contains: []bool{true}, filter: []string{"1.0.5"}, refContains: []bool{true}, refFilter: []string{"1.0.5"},
		refString: "~=1.0"},
	{name: "=== keeps its text", spec: "===1.0,===1.0.0", vs: []string{"1.0"},
		contains: []bool{false}, filter: []string{}, refContains: []bool{true}, refFilter: []string{"1.0"},
		refString: "===1.0"},
}

func TestDeviationsFromTheReferenceFollowThePEP(t *testing.T) {
	for _, d := range deviations {
		ss, err := ParseSpecifiers(d.spec)
		if d.legacy {
			if err == nil {
				t.Errorf("%s: ParseSpecifiers(%q) succeeded", d.name, d.spec)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", d.name, err)
			continue
		}
		vs := parseAll(d.vs...)
		for i, v := range vs {
			if got := ss.Contains(v, true); got != d.contains[i] {
				t.Errorf("%s: %q contains %q = %v", d.name, d.spec, v, got)
			}
		}
		got := []string{}
		for _, v := range ss.Filter(vs, PrereleasesAuto) {
			got = append(got, v.String())
		}
		if !slices.Equal(got, d.filter) {
			t.Errorf("%s: %q Filter(%v) = %v, want %v", d.name, d.spec, d.vs, got, d.filter)
		}
		if d.refString != "" && ss.String() == d.refString {
			t.Errorf("%s: %q String() = %q, the reference's", d.name, d.spec, ss)
		}
	}
}

func TestDeviationsDifferFromTheReference(t *testing.T) {
	reqs := make([]oracleRequest, len(deviations))
	for i, d := range deviations {
		reqs[i] = oracleRequest{K: "raw", Spec: d.spec, Vs: d.vs}
	}
	for i, a := range askOracle(t, reqs) {
		d := deviations[i]
		switch {
		case d.legacy:
			if !a.Valid || !slices.Contains(a.Dev, "legacy") {
				t.Errorf("%s: 21.3 does not read %q as a legacy specifier", d.name, d.spec)
			}
		case !slices.Equal(a.CT, d.refContains):
			t.Errorf("%s: 21.3 answers %v for %q contains %v, not %v", d.name, a.CT, d.spec, d.vs, d.refContains)
		case d.refString != "" && a.Str != d.refString:
			t.Errorf("%s: 21.3 prints %q as %q, not %q", d.name, d.spec, a.Str, d.refString)
		default:
			got := []string{}
			for _, k := range a.FN {
				got = append(got, d.vs[k])
			}
			if !slices.Equal(got, d.refFilter) {
				t.Errorf("%s: 21.3 filters %v to %v, not %v", d.name, d.vs, got, d.refFilter)
			}
		}
	}
}

func TestDeviationNonASCIILettersAreNotFolded(t *testing.T) {
	// "All ascii letters should be interpreted case insensitively within a
	// version", and for ===, "The comparison MUST treat ASCII letters
	// case-insensitively [...] and is unspecified for non-ASCII text".
	// 21.3's case-insensitive regular expression also folds the Kelvin sign
	// into k and the long s into s, accepting "1.0+\u212a" as "1.0+k".
	for _, s := range []string{"1.0+\u212a", "1.0.po\u017ft1", "1.0+\u00e9"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) succeeded", s)
		}
	}
	if MustParseSpecifiers("===1.0+\u212a").Contains(MustParse("1.0+k"), true) {
		t.Error("=== folded a non-ASCII letter")
	}
}

// Where packaging releases after 21.3 changed behaviour that PEP 440 does
// not decide, larder keeps 21.3's (pip 23's) behaviour. These tests pin it.

func TestPrefixMatchMayNamePreAndPostReleases(t *testing.T) {
	// "a trailing .* is permitted on public version identifiers" and "It is
	// invalid to have a prefix match containing a development or local
	// release": pre- and post-releases are public, so 21.3 and larder
	// accept them; packaging 22 and later reject them.
	for _, s := range []string{"==1.0a1.*", "!=1.0.post1.*", "==1.0rc1.post2.*"} {
		if _, err := ParseSpecifier(s); err != nil {
			t.Errorf("ParseSpecifier(%q): %v", s, err)
		}
	}
	for _, s := range []string{"==1.0.dev1.*", "==1.0+foo1.*"} {
		if _, err := ParseSpecifier(s); err == nil {
			t.Errorf("ParseSpecifier(%q) succeeded", s)
		}
	}
}

func TestOnlyInclusiveClausesNamingAPreReleaseAdmitThem(t *testing.T) {
	// PEP 440 admits pre-releases "explicitly requested by the user"
	// without saying which clauses request them. 21.3 (and so pip 23)
	// counts ==, ~=, <=, >= and === naming a pre-release; packaging 26 also
	// counts < and >. Contains(v, false) likewise keeps 21.3's meaning
	// (packaging 26 admits a lone pre-release there, as nothing else
	// matches); Filter is where the PEP's fallback applies.
	for _, tc := range []struct {
		spec string
		want bool
	}{
		{">=1.0a1", true}, {"==1.0a1", true}, {"==1.0a1.*", true}, {"~=1.0a1", true},
		{"<=1.0a1", true}, {"===1.0a1", true}, {"<1.0a1", false}, {">1.0a1", false},
		{"!=1.0a1", false}, {">=1.0", false},
	} {
		if got := MustParseSpecifiers(tc.spec).AllowsPrereleases(); got != tc.want {
			t.Errorf("%q AllowsPrereleases() = %v, want %v", tc.spec, got, tc.want)
		}
	}
	if MustParseSpecifiers(">=1.0").Contains(MustParse("1.1a1"), false) {
		t.Error("Contains(v, false) admitted a pre-release no clause names")
	}
}
