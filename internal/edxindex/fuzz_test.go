package edxindex

import (
	"regexp"
	"testing"

	"github.com/larder-build/larder/resolver/pep440"
	"github.com/larder-build/larder/resolver/pep508"
)

// seedVersions are real pins of base.txt plus the forms the generator makes.
var seedVersions = []string{"1.4.post1", "2.9.0.post0", "2026.1.15", "1.1.1.2", "0.9", "5.0.0rc1", "6.0.0b1", "1.0.dev3", "1!2.0+local.1", "4.2.1"}

// bothVersions parses s as this package does and as resolver/pep440 does,
// and reports whether both accept it.
func bothVersions(s string) (ours version, theirs pep440.Version, ok bool) {
	ours, err := parseVersion(s)
	theirs, perr := pep440.Parse(s)
	return ours, theirs, err == nil && perr == nil
}

func FuzzVersionAgreesWithPEP440(f *testing.F) {
	for i, a := range seedVersions {
		f.Add(a, seedVersions[(i+3)%len(seedVersions)])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		va, pa, okA := bothVersions(a)
		vb, pb, okB := bothVersions(b)
		if !okA || !okB {
			return
		}
		if va.String() != pa.String() {
			t.Errorf("%q normalizes to %q, pep440 says %q", a, va, pa)
		}
		if got, want := sign(compareVersions(va, vb)), sign(pa.Compare(pb)); got != want {
			t.Errorf("compare(%q, %q) = %d, pep440 says %d", a, b, got, want)
		}
	})
}

func FuzzSpecifierAgreesWithPEP440(f *testing.F) {
	for _, s := range []string{">=4.2,<5", "~=3.11", "!=1.3.*,>=1.0", "==2.*", ">1.4", "<2.0", "<=1.4.post1", "===1.0"} {
		for _, v := range seedVersions {
			f.Add(s, v)
		}
	}
	f.Fuzz(func(t *testing.T, spec, ver string) {
		cs, err := parseSpecifier(spec)
		theirs, perr := pep440.ParseSpecifiers(spec)
		v, pv, ok := bothVersions(ver)
		if err != nil || perr != nil || !ok {
			return
		}
		if got, want := contains(cs, v), theirs.Contains(pv, true); got != want {
			t.Errorf("%q contains %q: %v, pep440 says %v", spec, ver, got, want)
		}
	})
}

func FuzzRequirementAgreesWithPEP508(f *testing.F) {
	for _, o := range outsideProjects {
		f.Add(o.line)
	}
	for _, x := range unrequestedExtras {
		f.Add(x.line)
	}
	for _, m := range trueMarkers {
		f.Add("a[b]>=1; " + m)
	}
	f.Add(`lxml_html_clean (<1); extra == "html-clean"`)
	env := linuxEnv(11, "x86_64")
	long := regexp.MustCompile(`[0-9]{19}`)
	f.Fuzz(func(t *testing.T, line string) {
		if long.MatchString(line) {
			return // numbers beyond int64: see maxDigits
		}
		ours, err := parseRequirement(line)
		if err != nil {
			return
		}
		theirs, err := pep508.ParseRequirement(line)
		if err != nil {
			return
		}
		if ours.name != theirs.NormalizedName() {
			t.Errorf("%q: name %q, pep508 says %q", line, ours.name, theirs.NormalizedName())
		}
		got, err := markerHolds(ours.marker, env, "")
		if err != nil {
			t.Fatalf("%q: parsed but does not evaluate: %v", line, err)
		}
		their := pep508.Environment{}
		for k, v := range env {
			their[k] = v
		}
		if want := theirs.Marker.Evaluate(their); got != want {
			t.Errorf("%q: marker %v, pep508 says %v", line, got, want)
		}
	})
}
