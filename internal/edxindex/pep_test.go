package edxindex

import (
	"slices"
	"strings"
	"testing"

	"github.com/larder-build/larder/resolver/pep440"
	"github.com/larder-build/larder/resolver/pep508"
	"github.com/larder-build/larder/resolver/target"
)

// The generator decides with this package's small PEP 440 and 508 code;
// these tests hold it to resolver/pep440 and resolver/pep508 on everything
// the workload contains.

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func TestOwnVersionsAgreeWithPEP440(t *testing.T) {
	idx, _ := generated(t)
	var texts []string
	for _, p := range idx.Projects {
		for _, r := range p.Releases {
			texts = append(texts, r.Version)
		}
	}
	texts = append(texts, "1.0.dev1", "1.0a1.dev2", "1.0a1", "1.0b2.post3", "1.0rc1", "1.0", "1.0.post1.dev1", "1.0.post1", "1.0+local.7", "1!0.5")
	for i, a := range texts {
		ours, err := parseVersion(a)
		if err != nil {
			t.Fatalf("%q: %v", a, err)
		}
		theirs := pep440.MustParse(a)
		if ours.String() != theirs.String() {
			t.Errorf("%q normalizes to %q, pep440 says %q", a, ours, theirs)
		}
		// Neighbours in the list and a fixed sample give plenty of pairs.
		for _, b := range []string{texts[(i+1)%len(texts)], texts[(i*7)%len(texts)], "1.0"} {
			ob, _ := parseVersion(b)
			if got, want := sign(compareVersions(ours, ob)), sign(theirs.Compare(pep440.MustParse(b))); got != want {
				t.Errorf("compare(%q, %q) = %d, pep440 says %d", a, b, got, want)
			}
		}
	}
}

func TestOwnSpecifiersAndMarkersAgreeWithPEP508(t *testing.T) {
	idx, w := generated(t)
	v := newView(t, idx, w)
	var envs []environment
	var theirEnvs []pep508.Environment
	for _, s := range []string{"linux/amd64:3.11", "linux/arm64:3.12", "linux/amd64:3.10"} {
		tg, err := target.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		theirEnvs = append(theirEnvs, pep508.EnvironmentFor(tg))
		envs = append(envs, linuxEnv(tg.Python.Minor, tg.Machine()))
	}
	lines := slices.Clone(w.Constraints)
	for _, p := range idx.Projects {
		for _, r := range p.Releases {
			lines = append(lines, r.Requires...)
		}
	}
	checked := 0
	for _, line := range lines {
		ours, err := parseRequirement(line)
		if err != nil {
			t.Errorf("%q: %v", line, err)
			continue
		}
		theirs, err := pep508.ParseRequirement(line)
		if err != nil {
			t.Errorf("%q: pep508: %v", line, err)
			continue
		}
		if ours.name != theirs.NormalizedName() || !slices.Equal(ours.extras, theirs.Extras) {
			t.Errorf("%q: name %q extras %v, pep508 says %q %v", line, ours.name, ours.extras, theirs.NormalizedName(), theirs.Extras)
		}
		cs, err := parseSpecifier(ours.spec)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		for _, r := range v.projects[ours.name] {
			ov, _ := parseVersion(r.spec.Version)
			if got, want := contains(cs, ov), theirs.Specifiers.Contains(r.version, true); got != want {
				t.Errorf("%q contains %s: %v, pep440 says %v", line, r.spec.Version, got, want)
			}
			checked++
		}
		for i, env := range envs {
			for _, extra := range []string{"", "css", "test"} {
				got, err := markerHolds(ours.marker, env, extra)
				if err != nil {
					t.Fatalf("%q: %v", line, err)
				}
				want := theirs.Marker.Evaluate(theirEnvs[i].WithExtra(extra))
				if extra == "" {
					want = theirs.Marker.Evaluate(theirEnvs[i])
				}
				if got != want {
					t.Errorf("%q on %s extra %q: %v, pep508 says %v", ours.marker, env["python_version"], extra, got, want)
				}
			}
		}
	}
	if checked < 1000 {
		t.Errorf("only %d specifier checks", checked)
	}
}

func TestSomeEdgesAreReachedOnlyThroughExtras(t *testing.T) {
	idx, w := generated(t)
	v := newView(t, idx, w)
	gated := map[string]string{}
	for parent := range w.Pins {
		for _, req := range v.pin(parent).requires {
			if extras := req.Marker.Extras(); len(extras) > 0 && slices.Contains(w.Edges[parent], req.NormalizedName()) {
				gated[parent+" -> "+req.NormalizedName()] = strings.Join(extras, ",")
			}
		}
	}
	for edge, extra := range map[string]string{
		"lxml -> lxml-html-clean":     "html-clean",
		"bleach -> tinycss2":          "css",
		"httpx -> h2":                 "http2",
		"camel-converter -> pydantic": "pydantic",
		"pyjwt -> cryptography":       "crypto",
	} {
		if gated[edge] != extra {
			t.Errorf("%s: gated by %q, want %q", edge, gated[edge], extra)
		}
	}
	if len(gated) < 8 {
		t.Errorf("only %d gated edges: %v", len(gated), gated)
	}
}

func TestReasonsOptionChoosesTheDecoys(t *testing.T) {
	tests := []struct {
		name    string
		reasons []Reason
	}{
		{"without conflicts", []Reason{ReasonRequiresPython, ReasonMissingVersion, ReasonConstraint}},
		{"requires-python only", []Reason{ReasonRequiresPython}},
		{"constraints only", []Reason{ReasonConstraint}},
		{"none", []Reason{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idx, w, err := Generate(Options{Scale: testScale, Reasons: tt.reasons})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for name, ds := range w.Decoys {
				for _, d := range ds {
					n++
					if !slices.Contains(tt.reasons, d.Reason) {
						t.Errorf("%s %s: reason %s not asked for", name, d.Version, d.Reason)
					}
				}
			}
			if (n == 0) != (len(tt.reasons) == 0) {
				t.Errorf("%d decoys for reasons %v", n, tt.reasons)
			}
			v := newView(t, idx, w)
			for _, c := range invariantChecks {
				c.check(t, v)
			}
		})
	}
	if _, _, err := Generate(Options{Scale: testScale, Reasons: []Reason{"bogus"}}); err == nil || !strings.Contains(err.Error(), `"bogus"`) {
		t.Errorf("err = %v, want one quoting the bad reason", err)
	}
}
