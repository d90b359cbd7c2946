package edxindex

import (
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/resolver/pep440"
	"github.com/larder-build/larder/resolver/pep508"
)

// Each check below is one precondition of the invariant stated in doc.go.
// They run on the default index by name, and on other seeds together.

var invariantChecks = []struct {
	name  string
	check func(t *testing.T, v *view)
}{
	{"EveryPinIsInTheIndexAtItsVersion", checkPinsPresent},
	{"EveryEdgeIsARequiresDistThePinSatisfies", checkEdges},
	{"PinRequirementsNameExactlyTheGraph", checkExactGraph},
	{"MarkerFalseRequirementsNameOnlyOutsideProjects", checkOutsideRequirements},
	{"PinsSatisfyTheConstraints", checkConstraints},
	{"DecoysSortAboveThePinAndAreUnusable", checkDecoys},
	{"EveryReleaseKeepsThePinRequirements", checkReleasesKeepRequirements},
	{"OlderReleasesAreUsableButLower", checkOlder},
	{"UploadTimesPutDecoysAfterCompiledAt", checkUploadTimes},
}

func TestInvariant(t *testing.T) {
	idx, w := generated(t)
	v := newView(t, idx, w)
	for _, c := range invariantChecks {
		t.Run(c.name, func(t *testing.T) { c.check(t, v) })
	}
}

func TestInvariantHoldsForOtherSeeds(t *testing.T) {
	seeds := []int64{1, 2, 3, 42, -7}
	if testing.Short() {
		seeds = seeds[:1]
	}
	for _, seed := range seeds {
		idx, w, err := Generate(Options{Scale: testScale, Seed: seed})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		v := newView(t, idx, w)
		for _, c := range invariantChecks {
			t.Run(c.name, func(t *testing.T) { c.check(t, v) })
		}
	}
}

func checkPinsPresent(t *testing.T, v *view) {
	for name, ver := range v.w.Pins {
		r := v.pin(name)
		if r == nil {
			t.Errorf("%s %s: not in the index", name, ver)
			continue
		}
		if r.spec.Yanked != "" {
			t.Errorf("%s %s: pin is yanked", name, ver)
		}
		for _, py := range pythons {
			if !r.python.Contains(pep440.MustParse(py), false) {
				t.Errorf("%s %s: Requires-Python %q excludes %s", name, ver, r.spec.RequiresPython, py)
			}
		}
	}
}

func checkEdges(t *testing.T, v *view) {
	for _, env := range environments(t) {
		requested := v.requestedExtras(t, env)
		for parent, children := range v.w.Edges {
			reqs := applicable(v.pin(parent), env, requested[parent])
			for _, child := range children {
				i := slices.IndexFunc(reqs, func(r pep508.Requirement) bool { return r.NormalizedName() == child })
				if i < 0 {
					t.Errorf("%s %s: no applicable Requires-Dist for %s on %s %s", parent, v.w.Pins[parent], child, env["platform_machine"], env["python_version"])
					continue
				}
				if !reqs[i].Specifiers.Contains(pep440.MustParse(v.w.Pins[child]), false) {
					t.Errorf("%s: %s excludes the pin %s", parent, describe(reqs[i]), v.w.Pins[child])
				}
			}
		}
	}
}

// checkExactGraph: what the pins require on Linux, with the extras that are
// asked for, is exactly the base.txt graph, and every root is pinned: the
// pins are closed under their requirements and nothing else is pulled in.
func checkExactGraph(t *testing.T, v *view) {
	for _, env := range environments(t) {
		requested := v.requestedExtras(t, env)
		for name := range v.w.Pins {
			var got []string
			for _, req := range applicable(v.pin(name), env, requested[name]) {
				if !slices.Contains(got, req.NormalizedName()) {
					got = append(got, req.NormalizedName())
				}
			}
			sort.Strings(got)
			if want := v.w.Edges[name]; !slices.Equal(got, want) {
				t.Errorf("%s on %s %s: requires %v, graph says %v", name, env["platform_machine"], env["python_version"], got, want)
			}
			for _, e := range requested[name] {
				if !slices.Contains(v.pin(name).spec.Extras, e) {
					t.Errorf("%s: extra %q is requested but not provided", name, e)
				}
			}
		}
	}
	for _, r := range v.w.Roots {
		if _, ok := v.w.Pins[r]; !ok {
			t.Errorf("root %s is not pinned", r)
		}
	}
}

// checkOutsideRequirements: a requirement that applies on no Linux target
// and sits behind no extra names a project outside the closure that the
// index has, so that a universal resolver finds it. (Unrequested extras may
// name anything: checkExactGraph shows they are not asked for.)
func checkOutsideRequirements(t *testing.T, v *view) {
	envs := environments(t)
	for name := range v.w.Pins {
		for _, req := range v.pin(name).requires {
			applies := false
			for _, env := range envs {
				applies = applies || req.Marker.Evaluate(env)
			}
			if applies {
				continue
			}
			child := req.NormalizedName()
			gated := len(req.Marker.Extras()) > 0
			_, inIndex := v.projects[child]
			switch {
			case gated && slices.Contains(v.w.Edges[name], child):
				// A requested extra's edge, checked by checkEdges.
			case !gated && !inIndex:
				t.Errorf("%s: marker-false requirement %s names a project missing from the index", name, describe(req))
			case !gated && v.w.Pins[child] != "":
				t.Errorf("%s: marker-false requirement %s names a closure project", name, describe(req))
			}
		}
	}
}

func checkConstraints(t *testing.T, v *view) {
	if len(v.w.Constraints) == 0 {
		t.Fatal("no constraints")
	}
	for _, line := range v.w.Constraints {
		req, err := pep508.ParseRequirement(line)
		if err != nil {
			t.Fatalf("constraint %q: %v", line, err)
		}
		if pin, ok := v.w.Pins[req.NormalizedName()]; ok && !req.Specifiers.Contains(pep440.MustParse(pin), false) {
			t.Errorf("constraint %q excludes the pin %s", line, pin)
		}
	}
}

// constraintSpecs returns the constraint specifiers on name.
func (v *view) constraintSpecs(t *testing.T, name string) []pep440.Specifiers {
	var out []pep440.Specifiers
	for _, line := range v.w.Constraints {
		req, err := pep508.ParseRequirement(line)
		if err != nil {
			t.Fatalf("constraint %q: %v", line, err)
		}
		if req.NormalizedName() == name {
			out = append(out, req.Specifiers)
		}
	}
	return out
}

// newRequirement returns the one requirement of decoy d that the pin does
// not have.
func newRequirement(t *testing.T, name string, pin, d *release) (pep508.Requirement, bool) {
	var added []pep508.Requirement
	for i, req := range d.requires {
		if !slices.Contains(pin.spec.Requires, d.spec.Requires[i]) {
			added = append(added, req)
		}
	}
	if len(added) != 1 {
		t.Errorf("%s %s: want exactly one requirement the pin lacks, got %d", name, d.spec.Version, len(added))
		return pep508.Requirement{}, false
	}
	return added[0], true
}

// satisfying lists the versions of name in the index that req admits,
// pre-releases included.
func (v *view) satisfying(name string, specs pep440.Specifiers) []pep440.Version {
	var out []pep440.Version
	for _, r := range v.projects[name] {
		if specs.Contains(r.version, true) {
			out = append(out, r.version)
		}
	}
	return out
}

func checkDecoys(t *testing.T, v *view) {
	for name, decoys := range v.w.Decoys {
		pin := v.pin(name)
		for _, d := range decoys {
			r := v.release(name, d.Version)
			if r == nil {
				t.Errorf("%s %s: decoy not in the index", name, d.Version)
				continue
			}
			if r.version.Compare(pin.version) <= 0 {
				t.Errorf("%s: decoy %s does not sort above the pin %s", name, d.Version, pin.spec.Version)
			}
			switch d.Reason {
			case ReasonRequiresPython:
				for _, py := range pythons {
					if r.python.Contains(pep440.MustParse(py), false) {
						t.Errorf("%s %s: Requires-Python %q admits %s", name, d.Version, r.spec.RequiresPython, py)
					}
				}
			case ReasonMissingVersion:
				req, ok := newRequirement(t, name, pin, r)
				if !ok {
					continue
				}
				if req.Marker != nil {
					t.Errorf("%s %s: missing-version requirement %s has a marker", name, d.Version, describe(req))
				}
				if got := v.satisfying(req.NormalizedName(), req.Specifiers); len(got) > 0 {
					t.Errorf("%s %s: %s is satisfied by %v", name, d.Version, describe(req), got)
				}
			case ReasonConflict:
				req, ok := newRequirement(t, name, pin, r)
				if !ok {
					continue
				}
				checkConflict(t, v, name, d, req)
			case ReasonConstraint:
				excluded := false
				for _, specs := range v.constraintSpecs(t, name) {
					excluded = excluded || !specs.Contains(r.version, true)
				}
				if !excluded {
					t.Errorf("%s %s: no constraint excludes it", name, d.Version)
				}
			default:
				t.Errorf("%s %s: unknown reason %q", name, d.Version, d.Reason)
			}
		}
	}
}

func TestEveryReasonHasDecoys(t *testing.T) {
	_, w := generated(t)
	counts := map[Reason]int{}
	for _, ds := range w.Decoys {
		for _, d := range ds {
			counts[d.Reason]++
		}
	}
	for _, reason := range allReasons {
		if counts[reason] < 10 && !(reason == ReasonConstraint && counts[reason] > 5) {
			t.Errorf("%d decoys for reason %s", counts[reason], reason)
		}
	}
	if len(w.Decoys) != len(w.Pins) {
		t.Errorf("%d of %d pinned projects have decoys", len(w.Decoys), len(w.Pins))
	}
	t.Logf("decoys by reason: %v", counts)
}

// checkConflict: the decoy's new requirement on a closure project Q admits
// some releases of Q, yet another pinned project S requires Q, in every one
// of its usable releases, in a range that admits none of them.
func checkConflict(t *testing.T, v *view, name string, d Decoy, req pep508.Requirement) {
	q := req.NormalizedName()
	if _, ok := v.w.Pins[q]; !ok || req.Marker != nil {
		t.Errorf("%s %s: conflict requirement %s is not an unconditional one on a closure project", name, d.Version, describe(req))
		return
	}
	avail := v.satisfying(q, req.Specifiers)
	if len(avail) == 0 {
		t.Errorf("%s %s: %s admits no release at all: that is a missing version, not a conflict", name, d.Version, describe(req))
		return
	}
	for s := range v.w.Pins {
		if s == name {
			continue
		}
		excludesAll := true
		for _, r := range v.usable(s) {
			found := false
			for _, sr := range r.requires {
				if sr.NormalizedName() != q || sr.Marker != nil {
					continue
				}
				found = true
				for _, a := range avail {
					if sr.Specifiers.Contains(a, true) {
						excludesAll = false
					}
				}
			}
			excludesAll = excludesAll && found
		}
		if excludesAll {
			return
		}
	}
	t.Errorf("%s %s: no pinned project's requirement on %s contradicts %s (detail: %s)", name, d.Version, q, describe(req), d.Detail)
}

// checkReleasesKeepRequirements: every release of a closure project requires
// at least what the pin requires, each line kept as is or, in a
// missing-version decoy, replaced by an unsatisfiable one on the same name.
// So every solution contains the whole closure, which the conflict decoys
// rely on.
func checkReleasesKeepRequirements(t *testing.T, v *view) {
	for name := range v.w.Pins {
		pin := v.pin(name)
		for _, r := range v.projects[name] {
			for _, line := range pin.spec.Requires {
				if slices.Contains(r.spec.Requires, line) {
					continue
				}
				req, err := pep508.ParseRequirement(line)
				if err != nil {
					t.Fatal(err)
				}
				replaced := false
				for _, rr := range r.requires {
					if rr.NormalizedName() == req.NormalizedName() && rr.Marker == nil && len(v.satisfying(rr.NormalizedName(), rr.Specifiers)) == 0 {
						replaced = true
					}
				}
				if !replaced {
					t.Errorf("%s %s: lacks the pin's requirement %q", name, r.spec.Version, line)
				}
			}
		}
	}
}

func checkOlder(t *testing.T, v *view) {
	older := 0
	for name := range v.w.Pins {
		pin := v.pin(name)
		for _, r := range v.usable(name) {
			if r == pin {
				continue
			}
			older++
			if r.version.Compare(pin.version) >= 0 {
				t.Errorf("%s: release %s is neither a decoy nor below the pin %s", name, r.spec.Version, pin.spec.Version)
			}
			for _, py := range pythons {
				if !r.python.Contains(pep440.MustParse(py), false) {
					t.Errorf("%s %s: Requires-Python %q excludes %s", name, r.spec.Version, r.spec.RequiresPython, py)
				}
			}
			if r.version.IsPrerelease() {
				t.Errorf("%s %s: older release is a pre-release", name, r.spec.Version)
			}
		}
	}
	if older < len(v.w.Pins) {
		t.Errorf("only %d older releases for %d pins", older, len(v.w.Pins))
	}
}

func checkUploadTimes(t *testing.T, v *view) {
	for name := range v.w.Pins {
		for _, r := range v.projects[name] {
			decoy := v.isDecoy(name, r.version)
			if r.spec.UploadTime.IsZero() {
				t.Errorf("%s %s: no upload time", name, r.spec.Version)
			}
			if decoy != r.spec.UploadTime.After(CompiledAt) {
				t.Errorf("%s %s: uploaded %s; decoy=%v but CompiledAt is %s", name, r.spec.Version, r.spec.UploadTime.Format(time.RFC3339), decoy, CompiledAt.Format(time.RFC3339))
			}
		}
		rels := v.projects[name]
		for i := 1; i < len(rels); i++ {
			if !rels[i].spec.UploadTime.After(rels[i-1].spec.UploadTime) {
				t.Errorf("%s: %s uploaded before the lower %s", name, rels[i].spec.Version, rels[i-1].spec.Version)
			}
		}
	}
}

func TestDecoyDetailsNameTheirReason(t *testing.T) {
	_, w := generated(t)
	for name, ds := range w.Decoys {
		for _, d := range ds {
			if d.Detail == "" || (d.Reason == ReasonConflict && !strings.Contains(d.Detail, " requires ")) {
				t.Errorf("%s %s: detail %q does not explain %s", name, d.Version, d.Detail, d.Reason)
			}
		}
	}
}

// Pre-release and yanked decoys must be rejected for a reason of their own
// too (checkDecoys verifies it), so that a resolver that admits
// pre-releases or ignores yanking still reaches the pins.
func TestSomeDecoysArePreReleasesOrYanked(t *testing.T) {
	idx, w := generated(t)
	v := newView(t, idx, w)
	pre, yanked := 0, 0
	for name, ds := range w.Decoys {
		for _, d := range ds {
			r := v.release(name, d.Version)
			if r.version.IsPrerelease() {
				pre++
			}
			if r.spec.Yanked != "" {
				yanked++
			}
		}
	}
	if pre < 5 || yanked < 5 {
		t.Errorf("%d pre-release and %d yanked decoys, want a few of each", pre, yanked)
	}
	for name := range w.Pins {
		for _, r := range v.usable(name) {
			if r.spec.Yanked != "" {
				t.Errorf("%s %s: a usable release is yanked", name, r.spec.Version)
			}
		}
	}
}
