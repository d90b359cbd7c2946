package tags

import (
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/parsetest"
)

func FuzzParseTagSet(f *testing.F) {
	for _, s := range []string{
		"py3-none-any",
		"py2.py3-none-any",
		"cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
		"cp38-abi3-macosx_10_9_x86_64.macosx_11_0_arm64.macosx_10_9_universal2",
		"cp37-cp37m-musllinux_1_1_aarch64",
		"pp73-pypy39_pp73-win_amd64",
		"cp36.cp37.cp38-abi3.none-any",
		"py3--any",
		"a.b-c.d-e.f",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tags, err := ParseTagSet(s)
		if parsetest.Refused(t, s, err) {
			return
		}
		if len(tags) == 0 || len(tags) > maxTagSetSize {
			t.Fatalf("ParseTagSet(%q) gave %d tags", s, len(tags))
		}
		seen := make(map[Tag]bool, len(tags))
		for _, tag := range tags {
			if seen[tag] {
				t.Fatalf("ParseTagSet(%q) repeats %s", s, tag)
			}
			seen[tag] = true
			// Every tag is itself a valid one-tag set that parses back to it.
			again, err := ParseTagSet(tag.String())
			if err != nil || len(again) != 1 || again[0] != tag {
				t.Fatalf("tag %s from %q does not parse back: %v %v", tag, s, again, err)
			}
			if strings.ToLower(tag.String()) != tag.String() {
				t.Fatalf("tag %s is not lower case", tag)
			}
		}
		if !strings.Contains(s, ".") && (len(tags) != 1 || tags[0].String() != strings.ToLower(s)) {
			t.Fatalf("single tag %q parsed as %v", s, tags)
		}
	})
}

func BenchmarkSupportedAndNewRanker(b *testing.B) {
	tg := mustTarget(b, "linux/amd64:3.11:glibc2.36")
	b.ReportAllocs()
	for b.Loop() {
		NewRanker(tg)
	}
}

func BenchmarkSupported(b *testing.B) {
	tg := mustTarget(b, "linux/amd64:3.11:glibc2.36")
	b.ReportAllocs()
	for b.Loop() {
		Supported(tg)
	}
}

func BenchmarkRank(b *testing.B) {
	r := NewRanker(mustTarget(b, "linux/amd64:3.11:glibc2.36"))
	sets := []string{
		"cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
		"py3-none-any",
		"cp311-cp311-musllinux_1_1_x86_64",
		"cp38-abi3-manylinux_2_28_x86_64",
	}
	var tags [][]Tag
	for _, s := range sets {
		ts, err := ParseTagSet(s)
		if err != nil {
			b.Fatal(err)
		}
		tags = append(tags, ts)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.Rank(tags[i%len(tags)])
		i++
	}
}

func BenchmarkParseTagSet(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseTagSet("cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"); err != nil {
			b.Fatal(err)
		}
	}
}
