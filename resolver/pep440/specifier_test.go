package pep440

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// containsCase asks whether version satisfies spec with pre-releases
// allowed, so that only the operator is tested.
type containsCase struct {
	spec, version string
	want          bool
}

func runContains(t *testing.T, cases []containsCase) {
	t.Helper()
	for _, tc := range cases {
		ss, err := ParseSpecifiers(tc.spec)
		if err != nil {
			t.Errorf("ParseSpecifiers(%q): %v", tc.spec, err)
			continue
		}
		if got := ss.Contains(MustParse(tc.version), true); got != tc.want {
			t.Errorf("%q contains %q = %v, want %v", tc.spec, tc.version, got, tc.want)
		}
	}
}

func TestCompatibleReleaseMatchesItsPEPEquivalents(t *testing.T) {
	// "~= 2.2" is ">= 2.2, == 2.*"; a suffix is ignored for the prefix;
	// appended zeros narrow it.
	runContains(t, []containsCase{
		{"~=2.2", "2.2", true}, {"~=2.2", "2.9", true}, {"~=2.2", "2.1", false},
		{"~=2.2", "3.0", false}, {"~=2.2", "2.2.post1", true},
		{"~=1.4.5", "1.4.5", true}, {"~=1.4.5", "1.4.99", true}, {"~=1.4.5", "1.5.0", false},
		{"~=2.2.post3", "2.2.post3", true}, {"~=2.2.post3", "2.2.post2", false},
		{"~=2.2.post3", "2.3", true}, {"~=2.2.post3", "3.0", false},
		{"~=1.4.5a4", "1.4.5a4", true}, {"~=1.4.5a4", "1.4.5", true},
		{"~=1.4.5a4", "1.4.9", true}, {"~=1.4.5a4", "1.5.0", false},
		{"~=2.2.0", "2.2.9", true}, {"~=2.2.0", "2.3.0", false},
		{"~=1.4.5.0", "1.4.5.9", true}, {"~=1.4.5.0", "1.4.6", false},
		{"~=3.1a1", "3.1a1", true}, {"~=3.1a1", "3.9", true}, {"~=3.1a1", "4.0", false},
		{"~=1!2.2", "1!2.5", true}, {"~=1!2.2", "2.5", false},
		{"~=2.2", "2.2+local", true},
	})
}

func TestVersionMatchingFollowsPEPExamples(t *testing.T) {
	runContains(t, []containsCase{
		{"==1.1", "1.1.post1", false}, {"==1.1.post1", "1.1.post1", true},
		{"==1.1.*", "1.1.post1", true},
		{"==1.1", "1.1a1", false}, {"==1.1a1", "1.1a1", true}, {"==1.1.*", "1.1a1", true},
		{"==1.1", "1.1", true}, {"==1.1.0", "1.1", true}, {"==1.1.dev1", "1.1", false},
		{"==1.1a1", "1.1", false}, {"==1.1.post1", "1.1", false}, {"==1.1.*", "1.1", true},
		{"!=1.1", "1.1.post1", true}, {"!=1.1.post1", "1.1.post1", false},
		{"!=1.1.*", "1.1.post1", false},
		{"==3.1.*", "3.1.7", true}, {"==3.1.*", "3.10", false}, {"==3.1.*", "3.2", false},
		{"==1.*", "1", true}, {"==1.0.0.*", "1", true}, {"==1!1.*", "1.0", false},
		{"==1.0a1.*", "1.0a1.post2", true}, {"==1.0a1.*", "1.0a12", false},
		{"==1.0.post1.*", "1.0.post1.dev2", true}, {"==1.0.post1.*", "1.0a1.post1", false},
	})
}

func TestLocalVersionsMatchOnlyWhenTheClauseAllows(t *testing.T) {
	runContains(t, []containsCase{
		// A public clause ignores the candidate's label...
		{"==1.0", "1.0+abc", true}, {"!=1.0", "1.0+abc", false}, {"==1.0.*", "1.0+abc", true},
		{"<=1.0", "1.0+abc", true}, {">=1.0", "1.0+abc", true},
		// ...a local one compares it.
		{"==1.0+abc", "1.0+abc", true}, {"==1.0+abc", "1.0+ABC", true},
		{"==1.0+abc", "1.0+abd", false}, {"==1.0+abc", "1.0", false},
		{"!=1.0+abc", "1.0+abd", true}, {"==1.0+7", "1.0+007", true},
		// Exclusive clauses exclude local versions of the named version.
		{">1.0", "1.0+abc", false}, {"<1.0", "1.0+abc", false}, {"<1.1", "1.0+abc", true},
		{">0.9", "1.0+abc", true},
		// === compares the text: "===1.0 would not match 1.0+downstream1".
		{"===1.0", "1.0+downstream1", false}, {"===1.0", "1.0", true},
		{"===1.0.0", "1.0", false}, {"===V1.0", "1.0", false}, {"===1.0RC1", "1.0rc1", true},
	})
}

func TestExclusiveOrderedComparisonsExcludeTheNamedVersionsFamily(t *testing.T) {
	runContains(t, []containsCase{
		// ">1.7 will allow 1.7.1 but not 1.7.0.post1".
		{">1.7", "1.7.1", true}, {">1.7", "1.7.0.post1", false}, {">1.7", "1.7", false},
		// ">1.7.post2 will allow 1.7.1 and 1.7.0.post3 but not 1.7.0".
		{">1.7.post2", "1.7.1", true}, {">1.7.post2", "1.7.0.post3", true},
		{">1.7.post2", "1.7.0", false},
		// <V must not allow a pre-release of V unless V is one.
		{"<3.1", "3.1a1", false}, {"<3.1", "3.1.dev0", false}, {"<3.1", "3.0", true},
		{"<3.1", "3.0a1", true}, {"<3.1rc1", "3.1a1", true}, {"<3.1rc1", "3.1rc1.dev1", true},
		{"<3.1rc1", "3.1rc1", false},
		{">=1.0", "1.0", true}, {"<=1.0", "1.0", true}, {"<=1.0", "1.0.post1", false},
		{">1!1.0", "2.0", false}, {"<1!1.0", "2.0", true},
	})
}

func TestSpecifierExcludesPreReleasesUnlessNamed(t *testing.T) {
	for _, tc := range []struct {
		spec, version string
		want          bool
	}{
		{">=1.0", "1.1a1", false},
		{">=1.0a1", "1.1a1", true},        // an inclusive clause naming a pre-release admits them
		{"<=2.0b1,>=1.0", "1.5rc1", true}, // for the whole set
		{"==1.0a1", "1.0a1", true},
		{"~=1.0b1", "1.1.dev1", true},
		{"===1.0a1", "1.0a1", true},
		{">1.0a1", "1.1a1", false}, // exclusive and != clauses do not
		{"!=1.0a1", "1.1a1", false},
		{"", "1.0a1", false},
		{"", "1.0", true},
		{">=1.0", "1.0.post1", true}, // post-releases are not pre-releases
	} {
		ss := MustParseSpecifiers(tc.spec)
		if got := ss.Contains(MustParse(tc.version), false); got != tc.want {
			t.Errorf("%q contains %q = %v, want %v", tc.spec, tc.version, got, tc.want)
		}
		if !ss.Contains(MustParse(tc.version), true) && tc.want {
			t.Errorf("%q: allowing pre-releases must not exclude %q", tc.spec, tc.version)
		}
	}
}

func parseAll(ss ...string) []Version {
	out := make([]Version, len(ss))
	for i, s := range ss {
		out[i] = MustParse(s)
	}
	return out
}

func TestFilterAppliesThePreReleasePolicy(t *testing.T) {
	vs := parseAll("0.9", "1.0a1", "1.0", "1.1rc1", "1.1", "2.0.dev1")
	for _, tc := range []struct {
		spec string
		p    Prereleases
		want []string
	}{
		{">=1.0", PrereleasesAuto, []string{"1.0", "1.1"}},
		{">=1.0", PrereleasesAllow, []string{"1.0", "1.1rc1", "1.1", "2.0.dev1"}},
		{">=1.0", PrereleasesDeny, []string{"1.0", "1.1"}},
		{">=1.1rc1", PrereleasesAuto, []string{"1.1rc1", "1.1", "2.0.dev1"}},
		{">=1.1rc1", PrereleasesDeny, []string{"1.1"}},
		// Nothing final matches: PEP 440 falls back to pre-releases.
		{">1.1", PrereleasesAuto, []string{"2.0.dev1"}},
		{">1.1", PrereleasesDeny, nil},
		{"<1.0", PrereleasesAuto, []string{"0.9"}},
		{"", PrereleasesAuto, []string{"0.9", "1.0", "1.1"}},
		{"", PrereleasesAllow, []string{"0.9", "1.0a1", "1.0", "1.1rc1", "1.1", "2.0.dev1"}},
		{">3", PrereleasesAuto, nil},
	} {
		got := MustParseSpecifiers(tc.spec).Filter(vs, tc.p)
		var texts []string
		for _, v := range got {
			texts = append(texts, v.String())
		}
		if !slices.Equal(texts, tc.want) {
			t.Errorf("%q Filter(%v) = %v, want %v", tc.spec, tc.p, texts, tc.want)
		}
	}
	if got := MustParseSpecifiers("").Filter(parseAll("1.0a1", "2.0b1"), PrereleasesAuto); len(got) != 2 {
		t.Errorf("an empty set with only pre-releases available keeps them, got %v", got)
	}
}

func TestParseSpecifierRejectsInvalidClausesQuotingThem(t *testing.T) {
	for _, in := range []string{
		"~=1", "~=1!1", "~=1.0+a", "~=1.0.*", "<1.0.*", ">=1.0+a", "<=1.0+a",
		"==1.0.dev1.*", "==1.0+a.*", "== 1.0 .*", "==.*", "==1.*.*", "===a b", "==foo",
		"!=", "=1.0", "<>1", ">=", "1.0", "=>1.0", "> =1.0", ">1.0-", "==1.0+",
	} {
		wantInvalid(t, "ParseSpecifier", ParseSpecifier, in, ErrInvalidSpecifier)
		set := ">=0.1," + in
		if _, err := ParseSpecifiers(set); err == nil || !strings.Contains(err.Error(), strconv.Quote(set)) {
			t.Errorf("ParseSpecifiers(%q) = %v, want an error quoting the input", set, err)
		}
	}
}

func TestSpecifierKeepsItsOperatorAndVersionAsWritten(t *testing.T) {
	for _, tc := range []struct{ in, op, version string }{
		{">= 1.0", ">=", "1.0"},
		{" ~=v2.2.POST3 ", "~=", "v2.2.POST3"},
		{"==1.2.*", "==", "1.2.*"},
		{"=== foo", "===", "foo"},
		{"===", "===", ""},
		{"!=\t1.0+Local", "!=", "1.0+Local"},
	} {
		sp, err := ParseSpecifier(tc.in)
		if err != nil {
			t.Errorf("ParseSpecifier(%q): %v", tc.in, err)
			continue
		}
		if sp.Operator() != tc.op || sp.Version() != tc.version || sp.String() != tc.op+tc.version {
			t.Errorf("ParseSpecifier(%q) = %q %q (%q)", tc.in, sp.Operator(), sp.Version(), sp)
		}
	}
}

func TestSpecifiersStringIsSortedWithoutRepeatedConstraints(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{" , ,", ""},
		{"<2, >= 1.0", "<2,>=1.0"},
		{">=1.0,>=1.0.0,>= 1.0", ">=1.0"},
		{"==1.0+abc,==1.0+ABC", "==1.0+abc"},
		{"~=1.0,~=1.0.0", "~=1.0,~=1.0.0"}, // not the same constraint
		{"==1.0.*,==1.0.0.*", "==1.0.*,==1.0.0.*"},
		{"===1.0,===1.0.0", "===1.0,===1.0.0"},
		{"!=1.3.*,~=1.2,<2", "!=1.3.*,<2,~=1.2"},
	} {
		ss := MustParseSpecifiers(tc.in)
		if got := ss.String(); got != tc.want {
			t.Errorf("ParseSpecifiers(%q).String() = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestIntersectRequiresBothSets(t *testing.T) {
	a, b := MustParseSpecifiers(">=1.0"), MustParseSpecifiers("<2,>=1.0.0")
	both := a.Intersect(b)
	if got := both.String(); got != "<2,>=1.0" {
		t.Errorf("Intersect = %q", got)
	}
	if a.And(b).String() != both.String() {
		t.Error("And differs from Intersect")
	}
	for _, tc := range []struct {
		v    string
		want bool
	}{{"1.5", true}, {"2.0", false}, {"0.9", false}} {
		if got := both.Contains(MustParse(tc.v), false); got != tc.want {
			t.Errorf("%q contains %q = %v", both, tc.v, got)
		}
	}
	if len(a) != 1 || len(b) != 2 {
		t.Error("Intersect changed its operands")
	}
	if MustParseSpecifiers(">=1.0a1").Intersect(b).AllowsPrereleases() != true {
		t.Error("a clause naming a pre-release still admits them after Intersect")
	}
}

func TestZeroSpecifierMatchesNothing(t *testing.T) {
	var sp Specifier
	if sp.Contains(MustParse("1.0"), true) || sp.String() != "" || sp.Operator() != "" {
		t.Errorf("zero Specifier: %#v", sp)
	}
}
