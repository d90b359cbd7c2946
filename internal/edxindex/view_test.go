package edxindex

import (
	"fmt"
	"github.com/larder-build/larder/resolver/dist"
	"slices"
	"sync"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/resolver/pep440"
	"github.com/larder-build/larder/resolver/pep508"
	"github.com/larder-build/larder/resolver/target"
)

// The tests read the generated Index back with resolver/pep440 and
// resolver/pep508, not with this package's own small PEP code, so that a
// mistake in one is caught by the other.

// testScale keeps generated sizes small; nothing here builds files anyway.
const testScale = 0.01

var (
	defaultOnce  sync.Once
	defaultIndex *pypitest.Index
	defaultWork  *Workload
	defaultErr   error
)

// generated returns the index for Options{Scale: testScale}, built once.
func generated(t testing.TB) (*pypitest.Index, *Workload) {
	t.Helper()
	defaultOnce.Do(func() {
		defaultIndex, defaultWork, defaultErr = Generate(Options{Scale: testScale})
	})
	if defaultErr != nil {
		t.Fatalf("Generate: %v", defaultErr)
	}
	return defaultIndex, defaultWork
}

// release is one release of the index, parsed.
type release struct {
	spec     pypitest.Release
	version  pep440.Version
	requires []pep508.Requirement
	python   pep440.Specifiers
}

// view is the index as a resolver sees it.
type view struct {
	w        *Workload
	projects map[string][]*release // normalized name -> releases, ascending
}

func newView(t testing.TB, idx *pypitest.Index, w *Workload) *view {
	t.Helper()
	v := &view{w: w, projects: map[string][]*release{}}
	for _, p := range idx.Projects {
		name := dist.NormalizeName(p.Name)
		if _, dup := v.projects[name]; dup {
			t.Fatalf("project %q listed twice", name)
		}
		var rels []*release
		for _, r := range p.Releases {
			ver, err := pep440.Parse(r.Version)
			if err != nil {
				t.Fatalf("%s: %v", p.Name, err)
			}
			python, err := pep440.ParseSpecifiers(r.RequiresPython)
			if err != nil {
				t.Fatalf("%s %s: Requires-Python: %v", p.Name, r.Version, err)
			}
			rel := &release{spec: r, version: ver, python: python}
			for _, line := range r.Requires {
				req, err := pep508.ParseRequirement(line)
				if err != nil {
					t.Fatalf("%s %s: %v", p.Name, r.Version, err)
				}
				rel.requires = append(rel.requires, req)
			}
			rels = append(rels, rel)
		}
		if !slices.IsSortedFunc(rels, func(a, b *release) int { return a.version.Compare(b.version) }) {
			t.Errorf("%s: releases not in ascending version order", p.Name)
		}
		v.projects[name] = rels
	}
	return v
}

func (v *view) release(name, version string) *release {
	want := pep440.MustParse(version)
	for _, r := range v.projects[name] {
		if r.version.Equal(want) {
			return r
		}
	}
	return nil
}

func (v *view) pin(name string) *release { return v.release(name, v.w.Pins[name]) }

func (v *view) isDecoy(name string, ver pep440.Version) bool {
	for _, d := range v.w.Decoys[name] {
		if pep440.MustParse(d.Version).Equal(ver) {
			return true
		}
	}
	return false
}

// usable lists the releases of name that are neither decoys nor above the
// pin: the older releases and the pin itself.
func (v *view) usable(name string) []*release {
	var out []*release
	for _, r := range v.projects[name] {
		if !v.isDecoy(name, r.version) {
			out = append(out, r)
		}
	}
	return out
}

// targets are the platforms the invariant is promised for.
var targets = []string{
	"linux/amd64:3.11:glibc2.36", "linux/amd64:3.12:glibc2.36",
	"linux/arm64:3.11:glibc2.36", "linux/arm64:3.12:musl1.2",
}

func environments(t testing.TB) []pep508.Environment {
	t.Helper()
	var out []pep508.Environment
	for _, s := range targets {
		tg, err := target.Parse(s)
		if err != nil {
			t.Fatalf("target %q: %v", s, err)
		}
		out = append(out, pep508.EnvironmentFor(tg))
	}
	return out
}

// pythons are interpreter versions of the targets, for Requires-Python.
var pythons = []string{"3.11.0", "3.11.7", "3.12.0", "3.12.9"}

// requestedExtras collects, for each project, the extras the roots file and
// the pins' applicable requirements ask for.
func (v *view) requestedExtras(t testing.TB, env pep508.Environment) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	add := func(name string, extras []string) {
		for _, e := range extras {
			if !slices.Contains(out[name], e) {
				out[name] = append(out[name], e)
			}
		}
	}
	for _, line := range v.w.rootLines {
		req, err := pep508.ParseRequirement(line)
		if err != nil {
			t.Fatalf("root %q: %v", line, err)
		}
		add(req.NormalizedName(), req.Extras)
	}
	// Requests for extras can only come from requirements that apply without
	// extras of their own (no gated edge requests an extra here).
	for name := range v.w.Pins {
		for _, req := range v.pin(name).requires {
			if len(req.Extras) > 0 && req.Marker.Evaluate(env) {
				add(req.NormalizedName(), req.Extras)
			}
		}
	}
	return out
}

// applicable returns the requirements of r that hold in env when the
// project is requested with extras.
func applicable(r *release, env pep508.Environment, extras []string) []pep508.Requirement {
	var out []pep508.Requirement
	for _, req := range r.requires {
		if req.Marker.EvaluateExtras(env, extras) || (len(extras) > 0 && req.Marker.Evaluate(env)) {
			out = append(out, req)
		}
	}
	return out
}

func describe(r pep508.Requirement) string { return fmt.Sprintf("%q", r.String()) }
