package pep440

import (
	"testing"

	"github.com/larder-build/larder/internal/parsetest"
)

// fuzzSeeds returns a spread of the committed sample: real PyPI versions and
// the hand-picked edge cases.
func fuzzSeeds(f *testing.F) []string {
	vs := readSample(f)
	var out []string
	for i := 0; i < len(vs); i += 97 {
		out = append(out, vs[i])
	}
	return append(out, edgeVersions()...)
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if parsetest.Refused(t, s, err) {
			return
		}
		parsetest.Reparse(t, "Parse", s, v, Parse, func(a, b Version) bool { return a == b })
		p := v.Public()
		if p.Local() != "" || p.Compare(v) > 0 || (v.Local() == "") != (p == v) {
			t.Fatalf("Public() of %q = %q", v, p)
		}
		if q, err := Parse(p.String()); err != nil || q != p {
			t.Fatalf("Public() of %q = %#v, which parses as %#v, %v", v, p, q, err)
		}
		if len(v.Release()) == 0 || v.Epoch() < 0 {
			t.Fatalf("%q has release %v and epoch %d", v, v.Release(), v.Epoch())
		}
	})
}

func FuzzSpecifiers(f *testing.F) {
	vs := fuzzSeeds(f)
	for i, s := range []string{
		">=1.0,<2", "~=1.4.5", "==1.2.*", "!=1.3.*, >1.0.post1", "===foo", "<1.0rc1",
		">1.0+local", "== 1.0+abc.5", "", ",", "~=1", "<1.0.*", "~=0.2.0B1.POST2.DEV1",
		"==1.0a1.*", ">=1!2.0,<=1!3", "==v1.0.*", "~=v2.2.post3",
	} {
		f.Add(s, vs[(i*131)%len(vs)])
	}
	f.Fuzz(func(t *testing.T, spec, version string) {
		ss, err := ParseSpecifiers(spec)
		if parsetest.Refused(t, spec, err) {
			return
		}
		again := parsetest.Reparse(t, "ParseSpecifiers", spec, ss, ParseSpecifiers, nil)
		if both := ss.Intersect(ss); both.String() != ss.String() {
			t.Fatalf("%q & itself = %q", ss, both)
		}
		for _, s := range ss {
			if sp, err := ParseSpecifier(s.String()); err != nil || sp.String() != s.String() {
				t.Fatalf("clause %q does not round-trip: %q, %v", s, sp, err)
			}
		}
		v, err := Parse(version)
		if err != nil {
			return
		}
		for i := range ss {
			if s := &ss[i]; s.lo != "" && s.startsWith(v) != prefixMatch(s.prefix, v.String()) {
				t.Fatalf("%q: the key range and the text disagree on whether %q starts with %q", s, v, s.prefix)
			}
		}
		allow, auto := ss.Contains(v, true), ss.Contains(v, false)
		if auto && !allow {
			t.Fatalf("%q contains %q only when pre-releases are excluded", ss, v)
		}
		if again.Contains(v, true) != allow || again.Contains(v, false) != auto {
			t.Fatalf("%q and its String() %q disagree on %q", spec, again, v)
		}
		candidates := []Version{v, v.Public()}
		if got := ss.Filter(candidates, PrereleasesAllow); (len(got) > 0) != (allow || ss.Contains(v.Public(), true)) {
			t.Fatalf("%q Filter(%q, allow) = %v", ss, v, got)
		}
		ss.Filter(candidates, PrereleasesAuto)
		ss.Filter(candidates, PrereleasesDeny)
	})
}
