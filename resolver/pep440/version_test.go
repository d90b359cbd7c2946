package pep440

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParseNormalizesAlternativeSpellings(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1.0", "1.0"},
		{"v1.0", "1.0"},
		{"V1.0", "1.0"},
		{" \t1.0\r\n", "1.0"},
		{"\x1c1.0\u3000", "1.0"}, // everything Python's str.isspace accepts
		{"1.1RC1", "1.1rc1"},
		{"00", "0"},
		{"09000", "9000"},
		{"1.00.010", "1.0.10"},
		{"01!02.0", "1!2.0"},
		{"0!1.0", "1.0"},
		{"1.1.a1", "1.1a1"},
		{"1.1-a1", "1.1a1"},
		{"1.0a.1", "1.0a1"},
		{"1.1alpha1", "1.1a1"},
		{"1.1beta2", "1.1b2"},
		{"1.1c3", "1.1rc3"},
		{"1.1pre4", "1.1rc4"},
		{"1.1preview5", "1.1rc5"},
		{"1.2a", "1.2a0"},
		{"1.0a.", "1.0a0"},
		{"1.2-post2", "1.2.post2"},
		{"1.2post2", "1.2.post2"},
		{"1.2.post-2", "1.2.post2"},
		{"1.0-r4", "1.0.post4"},
		{"1.0rev4", "1.0.post4"},
		{"1.2.post", "1.2.post0"},
		{"1.0-1", "1.0.post1"},
		{"1.2-dev2", "1.2.dev2"},
		{"1.2dev2", "1.2.dev2"},
		{"1.2.dev", "1.2.dev0"},
		{"1.0+ubuntu-1", "1.0+ubuntu.1"},
		{"1.0+Ubuntu_007", "1.0+ubuntu.7"},
		{"1.0+foo0100", "1.0+foo0100"},
		{"1.0a1-2.DEV3", "1.0a1.post2.dev3"},
		{"99999999999999999999.0", "99999999999999999999.0"},
	} {
		v, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if v.String() != tc.want {
			t.Errorf("Parse(%q) = %q, want %q", tc.in, v, tc.want)
		}
	}
}

func TestParseRejectsInvalidVersionsQuotingThem(t *testing.T) {
	for _, in := range []string{
		"", " ", "foo", "1.0-", "1.0+", "1.0+a.", "1.0+a..b", "1.0.", ".1", "1..0",
		"1!", "!1", "1.0a1.0", "1.0.dev1.post1", "1.0a1b1", "vv1.0", "v 1.0",
		"1.0 1", "1.0-SNAPSHOT", "1.0.0-beta.1.2", "\u200b1.0", "1.0+\u212a", "\uff11.0",
	} {
		wantInvalid(t, "Parse", Parse, in, ErrInvalidVersion)
	}
}

// wantInvalid checks that parse (named fn in messages) refuses in with an
// error that is invalid and quotes in.
func wantInvalid[T any](t *testing.T, fn string, parse func(string) (T, error), in string, invalid error) {
	t.Helper()
	_, err := parse(in)
	if err == nil {
		t.Errorf("%s(%q) succeeded", fn, in)
		return
	}
	if !errors.Is(err, invalid) || !strings.Contains(err.Error(), strconv.Quote(in)) {
		t.Errorf("%s(%q) = %v, want %v quoting the input", fn, in, err, invalid)
	}
}

func TestVersionsSortInPEPOrder(t *testing.T) {
	// The example of the PEP's "Summary of permitted suffixes and relative
	// ordering", then epochs and local labels.
	ordered := []string{
		"1.dev0", "1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12",
		"1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456", "1.0b2.post345",
		"1.0rc1.dev456", "1.0rc1", "1.0", "1.0+abc.5", "1.0+abc.7", "1.0+5",
		"1.0.post456.dev34", "1.0.post456", "1.0.15", "1.1.dev1",
		"2013.10", "2014.04", "1!1.0", "1!1.1", "1!2.0",
	}
	for i := 1; i < len(ordered); i++ {
		a, b := MustParse(ordered[i-1]), MustParse(ordered[i])
		if a.Compare(b) >= 0 || b.Compare(a) <= 0 {
			t.Errorf("%q does not sort before %q", a, b)
		}
	}
	shuffled := slices.Clone(ordered)
	slices.Reverse(shuffled)
	vs := make([]Version, len(shuffled))
	for i, s := range shuffled {
		vs[i] = MustParse(s)
	}
	slices.SortFunc(vs, Compare)
	for i, v := range vs {
		if v.String() != MustParse(ordered[i]).String() {
			t.Fatalf("sorted[%d] = %q, want %q", i, v, ordered[i])
		}
	}
}

func TestCompareIgnoresTrailingZerosAndSpelling(t *testing.T) {
	for _, pair := range [][2]string{
		{"1.0", "1.0.0"}, {"1", "1.0.0.0"}, {"1.0c1", "1.0rc1"}, {"v1.0", "1.0"},
		{"0!1.0", "1.0"}, {"1.0+a.007", "1.0+A-7"}, {"1.0-1", "1.0.post1"},
	} {
		a, b := MustParse(pair[0]), MustParse(pair[1])
		if a.Compare(b) != 0 || !a.Equal(b) {
			t.Errorf("%q and %q are not equal", pair[0], pair[1])
		}
	}
	if MustParse("1.0") == MustParse("1.0.0") {
		t.Error("== should tell 1.0 and 1.0.0 apart: their normalized forms differ")
	}
}

func TestLocalLabelsOrderNumbersAboveTextAndLongerAbovePrefix(t *testing.T) {
	ordered := []string{
		"1.0", "1.0+a", "1.0+a.1", "1.0+aa", "1.0+abc", "1.0+abc.a", "1.0+abc.0",
		"1.0+abc.1", "1.0+b", "1.0+z", "1.0+0", "1.0+0.a", "1.0+0.0", "1.0+9", "1.0+10",
		"1.0.post0",
	}
	for i := 1; i < len(ordered); i++ {
		if a, b := MustParse(ordered[i-1]), MustParse(ordered[i]); a.Compare(b) >= 0 {
			t.Errorf("%q does not sort before %q", a, b)
		}
	}
}

func TestHugeNumbersOrderNumerically(t *testing.T) {
	ordered := []string{
		"9223372036854775807", "9223372036854775808", "18446744073709551616",
		"99999999999999999999", "100000000000000000000", "1" + strings.Repeat("0", 300),
	}
	for i := 1; i < len(ordered); i++ {
		if a, b := MustParse(ordered[i-1]), MustParse(ordered[i]); a.Compare(b) >= 0 {
			t.Errorf("%q does not sort before %q", a, b)
		}
	}
}

func TestVersionAccessorsReportSegments(t *testing.T) {
	v := MustParse("2!1.02.3rc4.post5.dev6+Ubuntu.1")
	if got := v.String(); got != "2!1.2.3rc4.post5.dev6+ubuntu.1" {
		t.Errorf("String() = %q", got)
	}
	if got := v.Epoch(); got != 2 {
		t.Errorf("Epoch() = %d", got)
	}
	if got := v.Release(); !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("Release() = %v", got)
	}
	if l, n := v.Pre(); l != "rc" || n != 4 {
		t.Errorf("Pre() = %q, %d", l, n)
	}
	if n, ok := v.Post(); !ok || n != 5 {
		t.Errorf("Post() = %d, %v", n, ok)
	}
	if n, ok := v.Dev(); !ok || n != 6 {
		t.Errorf("Dev() = %d, %v", n, ok)
	}
	if got := v.Local(); got != "ubuntu.1" {
		t.Errorf("Local() = %q", got)
	}
	if got := v.Public(); got != MustParse("2!1.2.3rc4.post5.dev6") {
		t.Errorf("Public() = %#v", got)
	}
	if !v.IsPrerelease() || !v.IsPostrelease() || !v.IsDevrelease() {
		t.Error("the kind of release is wrong")
	}
	for _, tc := range []struct {
		in             string
		pre, post, dev bool
	}{
		{"1.0", false, false, false},
		{"1.0a1", true, false, false},
		{"1.0.dev1", true, false, true},
		{"1.0.post1", false, true, false},
		{"1.0.post1.dev1", true, true, true},
		{"1.0+dev", false, false, false},
	} {
		v := MustParse(tc.in)
		if v.IsPrerelease() != tc.pre || v.IsPostrelease() != tc.post || v.IsDevrelease() != tc.dev {
			t.Errorf("%q: pre %v post %v dev %v", tc.in, v.IsPrerelease(), v.IsPostrelease(), v.IsDevrelease())
		}
	}
	if got := MustParse("1" + strings.Repeat("0", 30)).Release(); got[0] <= 0 {
		t.Errorf("a release number too large for an int saturates, got %v", got)
	}
}

func TestZeroVersionIsSafeAndSortsFirst(t *testing.T) {
	var z Version
	if !z.IsZero() || z.String() != "" || z.Release() != nil || z.Epoch() != 0 || z.Local() != "" {
		t.Errorf("zero Version: %#v", z)
	}
	if z.Compare(MustParse("0")) >= 0 || z.Public() != z || z.IsPrerelease() {
		t.Error("the zero Version should sort before every version")
	}
	if MustParse("0").IsZero() {
		t.Error("a parsed version is not zero")
	}
	ss := MustParseSpecifiers(">=1,<2,!=1.5.*,~=1.1,>0.1,<=3,===x")
	ss.Contains(z, true)
	ss.Filter([]Version{z}, PrereleasesAuto)
}

func TestVersionRoundTripsThroughJSONAsItsNormalizedForm(t *testing.T) {
	in := map[string]Version{"v": MustParse("V1.0-RC1")}
	data, err := json.Marshal(in)
	if err != nil || string(data) != `{"v":"1.0rc1"}` {
		t.Fatalf("json.Marshal = %s, %v", data, err)
	}
	var out map[string]Version
	if err := json.Unmarshal(data, &out); err != nil || out["v"] != in["v"] {
		t.Fatalf("json.Unmarshal = %v, %v", out, err)
	}
	if err := json.Unmarshal([]byte(`{"v":"nope"}`), &out); !errors.Is(err, ErrInvalidVersion) {
		t.Errorf("json.Unmarshal of an invalid version: %v", err)
	}
}
