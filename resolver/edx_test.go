package resolver

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/edxindex"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/target"
)

// edxResolve resolves the edx workload's roots with its constraints
// against the generated index.
func edxResolve(tb testing.TB, srv *pypitest.Server, w *edxindex.Workload, cacheDir string, targets []target.Target) (*Result, *index.Client) {
	tb.Helper()
	roots, err := w.RootsFile(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	in, err := ReadInputs([]string{roots}, nil, InputOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	c, err := index.New([]string{srv.URL()}, index.WithCacheDir(cacheDir))
	if err != nil {
		tb.Fatal(err)
	}
	res, err := Resolve(context.Background(), c, Request{
		Requirements: in.Requirements, Constraints: in.Constraints, Targets: targets, Python: "/usr/bin/python3",
	})
	if err != nil {
		tb.Fatal(err)
	}
	return res, c
}

// TestEdxWorkloadResolvesToExactlyThePins is the realistic workload: the
// top-level inputs of edx-platform plus its constraints, against an index
// full of decoys, must resolve to base.txt's 302 pins on every target.
func TestEdxWorkloadResolvesToExactlyThePins(t *testing.T) {
	if testing.Short() {
		t.Skip("resolves 300 packages")
	}
	idx, w, err := edxindex.Generate(edxindex.Options{Scale: 0.001})
	if err != nil {
		t.Fatal(err)
	}
	srv := pypitest.Start(t, idx)
	targets := []target.Target{
		mustTarget(t, "linux/amd64:3.11:glibc2.36"),
		mustTarget(t, "linux/arm64:3.11:glibc2.36"),
	}
	res, _ := edxResolve(t, srv, w, t.TempDir(), targets)
	for ti, tt := range targets {
		got := map[string]string{}
		for _, p := range res.Packages {
			if _, ok := p.Files[ti]; ok {
				got[p.Name] = p.Version.String()
			}
		}
		var diff []string
		for name, v := range w.Pins {
			if got[name] != v {
				diff = append(diff, name+": want "+v+", got "+got[name])
			}
		}
		for name, v := range got {
			if _, ok := w.Pins[name]; !ok {
				diff = append(diff, name+": not pinned, got "+v)
			}
		}
		sort.Strings(diff)
		if len(diff) > 0 {
			t.Errorf("%s: %d differences from base.txt:\n%s", tt, len(diff), strings.Join(diff, "\n"))
		}
		if len(got) != 302 {
			t.Errorf("%s: %d packages, want 302", tt, len(got))
		}
	}
}
