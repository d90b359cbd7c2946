package tags

import (
	"slices"
	"testing"

	"github.com/larder-build/larder/internal/parsetest"
	"github.com/larder-build/larder/resolver/target"
)

func mustTarget(t testing.TB, s string) target.Target {
	t.Helper()
	return parsetest.Must(t, target.Parse, s)
}

func tagStrings(tags []Tag) []string {
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = t.String()
	}
	return out
}

func TestTagStringJoinsTheTripleWithDashes(t *testing.T) {
	got := Tag{"cp311", "cp311", "manylinux_2_17_x86_64"}.String()
	if got != "cp311-cp311-manylinux_2_17_x86_64" {
		t.Errorf("String() = %q", got)
	}
}

func TestParseTagSetExpandsCompressedSetsInSpecOrder(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"py3-none-any", []string{"py3-none-any"}},
		{"py2.py3-none-any", []string{"py2-none-any", "py3-none-any"}},
		{"cp311-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64", []string{
			"cp311-abi3-manylinux_2_17_x86_64", "cp311-abi3-manylinux2014_x86_64"}},
		// The specification's loops: interpreters outermost, platforms innermost.
		{"cp37.cp38-abi3.none-any.linux_x86_64", []string{
			"cp37-abi3-any", "cp37-abi3-linux_x86_64", "cp37-none-any", "cp37-none-linux_x86_64",
			"cp38-abi3-any", "cp38-abi3-linux_x86_64", "cp38-none-any", "cp38-none-linux_x86_64"}},
		{"PY3-None-ANY", []string{"py3-none-any"}},
		{"py3.py3-none-any.any", []string{"py3-none-any"}},
		{"pp73-pypy39_pp73-macosx_10_9_x86_64", []string{"pp73-pypy39_pp73-macosx_10_9_x86_64"}},
	}
	for _, tt := range tests {
		got, err := ParseTagSet(tt.in)
		if err != nil {
			t.Errorf("ParseTagSet(%q): %v", tt.in, err)
			continue
		}
		if s := tagStrings(got); !slices.Equal(s, tt.want) {
			t.Errorf("ParseTagSet(%q) = %q, want %q", tt.in, s, tt.want)
		}
	}
}

func TestParseTagSetRejectsMalformedSetsQuotingThem(t *testing.T) {
	parsetest.Refuses(t, "ParseTagSet", ParseTagSet, parsetest.Refusals{
		{"", "PYTHON-ABI-PLATFORM"},
		{"py3-none", "PYTHON-ABI-PLATFORM"},
		{"py3-none-any-x", "PYTHON-ABI-PLATFORM"},
		{"py3--any", "empty tag"},
		{"py2.-none-any", "empty tag"},
		{"py3-none-linux x86_64", "not a letter"},
		{"py3-none-linux+x", "not a letter"},
		{"py3-none-é", "not a letter"},
		{"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p-" + "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p-" + "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q", "more than"},
	})
}

func TestPlatformsListsManylinuxDownToTheArchitectureFloorWithLegacyAliases(t *testing.T) {
	tests := []struct {
		target string
		want   []string
	}{
		{"linux/arm64:3.11:glibc2.19", []string{
			"manylinux_2_19_aarch64", "manylinux_2_18_aarch64", "manylinux_2_17_aarch64",
			"manylinux2014_aarch64", "linux_aarch64"}},
		{"linux/amd64:3.11:glibc2.13", []string{
			"manylinux_2_13_x86_64", "manylinux_2_12_x86_64", "manylinux2010_x86_64",
			"manylinux_2_11_x86_64", "manylinux_2_10_x86_64", "manylinux_2_9_x86_64",
			"manylinux_2_8_x86_64", "manylinux_2_7_x86_64", "manylinux_2_6_x86_64",
			"manylinux_2_5_x86_64", "manylinux1_x86_64", "linux_x86_64"}},
		{"linux/386:3.11:glibc2.5", []string{"manylinux_2_5_i686", "manylinux1_i686", "linux_i686"}},
		// Below the floor nothing manylinux applies, only the plain platform.
		{"linux/arm64:3.11:glibc2.16", []string{"linux_aarch64"}},
		{"linux/amd64:3.11:glibc2.4", []string{"linux_x86_64"}},
		{"linux/arm64:3.12:musl1.2", []string{
			"musllinux_1_2_aarch64", "musllinux_1_1_aarch64", "musllinux_1_0_aarch64", "linux_aarch64"}},
		{"linux/arm/v7:3.12:musl1.0", []string{"musllinux_1_0_armv7l", "linux_armv7l"}},
	}
	for _, tt := range tests {
		got := Platforms(mustTarget(t, tt.target))
		if !slices.Equal(got, tt.want) {
			t.Errorf("Platforms(%s) = %q, want %q", tt.target, got, tt.want)
		}
	}
}

func TestPlatformsCarriesOnIntoEarlierGlibcMajorSeries(t *testing.T) {
	got := Platforms(mustTarget(t, "linux/arm64:3.11:glibc3.1"))
	if len(got) != 2+34+2 || got[0] != "manylinux_3_1_aarch64" || got[1] != "manylinux_3_0_aarch64" ||
		got[2] != "manylinux_2_50_aarch64" || got[len(got)-2] != "manylinux2014_aarch64" {
		t.Errorf("Platforms(glibc3.1) = %q", got)
	}
}

func TestSupportedOrdersCPythonTagsBeforeCompatibleTags(t *testing.T) {
	got := tagStrings(Supported(mustTarget(t, "linux/amd64:3.11:glibc2.17")))
	// 2.17 down to 2.5 is 13 manylinux tags, 3 legacy aliases, linux_x86_64.
	const np = 13 + 3 + 1
	checks := map[int]string{
		0:                  "cp311-cp311-manylinux_2_17_x86_64",
		1:                  "cp311-cp311-manylinux2014_x86_64",
		np - 1:             "cp311-cp311-linux_x86_64",
		np:                 "cp311-abi3-manylinux_2_17_x86_64",
		2 * np:             "cp311-none-manylinux_2_17_x86_64",
		3 * np:             "cp310-abi3-manylinux_2_17_x86_64",
		11*np + 1:          "cp32-abi3-manylinux2014_x86_64",
		12 * np:            "py311-none-manylinux_2_17_x86_64",
		13 * np:            "py3-none-manylinux_2_17_x86_64",
		14 * np:            "py310-none-manylinux_2_17_x86_64",
		25*np - 1:          "py30-none-linux_x86_64",
		25 * np:            "cp311-none-any",
		25*np + 1:          "py311-none-any",
		25*np + 2:          "py3-none-any",
		25*np + 3:          "py310-none-any",
		25*np + 1 + 13 - 1: "py30-none-any",
	}
	if len(got) != 25*np+1+13 {
		t.Fatalf("Supported gave %d tags, want %d", len(got), 25*np+1+13)
	}
	for i, want := range checks {
		if got[i] != want {
			t.Errorf("Supported[%d] = %q, want %q", i, got[i], want)
		}
	}
}

func TestSupportedUsesThePymallocABIBeforePython38(t *testing.T) {
	tests := []struct{ target, first string }{
		{"linux/amd64:3.6:musl1.1", "cp36-cp36m-musllinux_1_1_x86_64"},
		{"linux/amd64:3.7:glibc2.28", "cp37-cp37m-manylinux_2_28_x86_64"},
		{"linux/amd64:3.8:glibc2.28", "cp38-cp38-manylinux_2_28_x86_64"},
		{"linux/arm64:3.12:glibc2.36", "cp312-cp312-manylinux_2_36_aarch64"},
	}
	for _, tt := range tests {
		got := Supported(mustTarget(t, tt.target))
		if len(got) == 0 || got[0].String() != tt.first {
			t.Errorf("Supported(%s)[0] = %v, want %s", tt.target, got[:min(1, len(got))], tt.first)
		}
	}
}

func TestSupportedIsEmptyForTargetsNoSystemHas(t *testing.T) {
	tests := []target.Target{
		{OS: "linux", Arch: "sparc", Python: target.Python{Major: 3, Minor: 11}, Libc: target.DefaultLibc},
		{OS: "windows", Arch: "amd64", Python: target.Python{Major: 3, Minor: 11}, Libc: target.DefaultLibc},
		{OS: "linux", Arch: "amd64", Python: target.Python{Major: 3, Minor: 11}, Libc: target.Libc{Kind: target.Glibc, Major: 2, Minor: 1 << 40}},
		{OS: "linux", Arch: "amd64", Python: target.Python{Major: 3, Minor: 1 << 40}, Libc: target.DefaultLibc},
		{OS: "linux", Arch: "amd64", Python: target.Python{Major: 3, Minor: -1}, Libc: target.DefaultLibc},
	}
	for _, tg := range tests {
		if got := Supported(tg); got != nil {
			t.Errorf("Supported(%+v) has %d tags, want none", tg, len(got))
		}
	}
}

func TestRankerPrefersTheEarliestSupportedTag(t *testing.T) {
	r := NewRanker(mustTarget(t, "linux/amd64:3.11:glibc2.36"))
	rank := func(set string) (int, bool) {
		tags, err := ParseTagSet(set)
		if err != nil {
			t.Fatal(err)
		}
		return r.Rank(tags)
	}
	binary, ok1 := rank("cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64")
	abi3, ok2 := rank("cp38-abi3-manylinux_2_17_x86_64")
	pure, ok3 := rank("py2.py3-none-any")
	if !ok1 || !ok2 || !ok3 || !(binary < abi3 && abi3 < pure) {
		t.Errorf("ranks binary=%d,%v abi3=%d,%v pure=%d,%v; want binary < abi3 < pure", binary, ok1, abi3, ok2, pure, ok3)
	}
	if got := r.Tags()[pure].String(); got != "py3-none-any" {
		t.Errorf("rank of py2.py3-none-any points at %s", got)
	}
	for _, set := range []string{"cp312-cp312-manylinux_2_17_x86_64", "cp311-cp311-manylinux_2_37_x86_64",
		"cp311-cp311-musllinux_1_2_x86_64", "cp311-cp311-win_amd64", "py2-none-any", "cp311-cp311d-linux_x86_64"} {
		if rk, ok := rank(set); ok {
			t.Errorf("Rank(%s) = %d, want unsupported", set, rk)
		}
	}
	if _, ok := r.Rank(nil); ok {
		t.Error("Rank(nil) is supported, want not")
	}
}

func TestRankIsThePositionInSupported(t *testing.T) {
	tg := mustTarget(t, "linux/arm64:3.12:musl1.2")
	r := NewRanker(tg)
	for i, tag := range Supported(tg) {
		if got, ok := r.Rank([]Tag{{"py2", "none", "any"}, tag}); !ok || got != i {
			t.Fatalf("Rank(%s) = %d, %v; want %d", tag, got, ok, i)
		}
	}
}
