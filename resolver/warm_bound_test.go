package resolver

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/target"
)

// inFlightIndex is a real index client that reports, as its own, a small
// limit on requests in flight, and records the most calls it ever had at
// once: the resolver's background work must stay within that limit.
type inFlightIndex struct {
	Index
	limit     int
	cur, peak atomic.Int64
}

func (x *inFlightIndex) Parallel() int { return x.limit }

func (x *inFlightIndex) enter() func() {
	n := x.cur.Add(1)
	for p := x.peak.Load(); n > p && !x.peak.CompareAndSwap(p, n); p = x.peak.Load() {
	}
	return func() { x.cur.Add(-1) }
}

func (x *inFlightIndex) Project(ctx context.Context, name string) (*index.Page, error) {
	defer x.enter()()
	return x.Index.Project(ctx, name)
}

func (x *inFlightIndex) Metadata(ctx context.Context, f index.File) ([]byte, error) {
	defer x.enter()()
	return x.Index.Metadata(ctx, f)
}

// TestBackgroundWorkStaysWithinTheIndexsLimit resolves forty roots of
// six versions each against a slow index that says it takes two requests
// at a time: the warm-ups of every listing's first candidates wait in the
// bounded queue instead of each starting a goroutine and a call, so the
// calls in flight never exceed the warmers' limit plus the target's own
// page fetches (its limit) and its sequential walk (one).
func TestBackgroundWorkStaysWithinTheIndexsLimit(t *testing.T) {
	var projects []pypitest.Project
	var roots []string
	for i := range 40 {
		name := fmt.Sprintf("lib%02d", i)
		var rels []pypitest.Release
		for _, v := range []string{"1.0", "1.1", "1.2", "1.3", "1.4", "1.5"} {
			rels = append(rels, pure(v))
		}
		projects = append(projects, pypitest.Project{Name: name, Releases: rels})
		roots = append(roots, name)
	}
	srv := pypitest.Start(t, &pypitest.Index{Projects: projects})
	srv.SetLatency(5 * time.Millisecond)
	c, err := index.New([]string{srv.URL()}, index.WithCacheDir(t.TempDir()), index.WithRetries(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	const limit = 2
	ix := &inFlightIndex{Index: c, limit: limit}
	res, err := Resolve(context.Background(), ix, Request{
		Requirements: reqs(t, roots...),
		Targets:      []target.Target{mustTarget(t, "linux/amd64:3.11:glibc2.36")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Packages) != len(roots) {
		t.Fatalf("resolved %d packages, want %d", len(res.Packages), len(roots))
	}
	if got, want := ix.peak.Load(), int64(limit+limit+1); got > want {
		t.Errorf("%d index calls were in flight at once, want at most %d (the index takes %d)", got, want, limit)
	}
	if n := ix.cur.Load(); n != 0 {
		t.Errorf("%d index calls still in flight after Resolve returned", n)
	}
}
