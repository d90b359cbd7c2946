package resolver

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/flight/flighttest"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/index"
)

// startHeldMetadata serves an index of one project, six, whose first
// request for a metadata file the returned Hold holds, and returns a
// shared of a client of it and the file of six 1.16.0's wheel.
func startHeldMetadata(t *testing.T) (*flighttest.Hold, *shared, index.File) {
	t.Helper()
	idx := pypitest.New(&pypitest.Index{Projects: []pypitest.Project{
		{Name: "six", Releases: []pypitest.Release{{Version: "1.16.0", Wheels: []pypitest.Wheel{{Tags: "py2.py3-none-any"}}}}},
	}})
	url, h := flighttest.Serve(t, idx, func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, ".metadata") })
	c, err := index.New([]string{url + "/simple/"}, index.WithCacheDir(t.TempDir()), index.WithRetries(2, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	page, err := c.Project(t.Context(), "six")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Files) != 1 || !page.Files[0].CoreMetadata {
		t.Fatalf("six's page lists %+v, want one wheel with its metadata", page.Files)
	}
	return h, &shared{ix: c, meta: map[string]*metaResult{}}, page.Files[0]
}

type metaAnswer struct {
	md  *dist.Metadata
	err error
}

// TestAWarmUpThatGivesUpOnMetadataDoesNotFailTheTargetWaitingForIt: the
// caller whose request for a file's metadata is under way (a warm-up)
// gives up while another (a target's search) waits for the same file:
// the one that gave up gets its own context's error at once, the other
// gets the metadata, and the index is asked once.
func TestAWarmUpThatGivesUpOnMetadataDoesNotFailTheTargetWaitingForIt(t *testing.T) {
	h, sh, f := startHeldMetadata(t)
	joined := make(chan struct{})
	var joinedOnce sync.Once
	sh.metaFlight.Joined = func(string) { joinedOnce.Do(func() { close(joined) }) }
	meta := func(ctx context.Context) metaAnswer {
		md, err := sh.metadata(ctx, f)
		return metaAnswer{md, err}
	}
	errOf := func(a metaAnswer) error { return a.err }
	if got := flighttest.GiveUp(t, meta, errOf, h.Started(), joined, h.Release); got.err != nil || got.md == nil || got.md.Name != "six" {
		t.Errorf("the caller that waited: %+v, %v; want six's metadata", got.md, got.err)
	}
	if n := h.Asked(); n != 1 {
		t.Errorf("metadata requested %d times, want 1", n)
	}
}

// TestMetadataAbandonedByEveryCallerIsNotKeptAsAFailure: when every
// caller waiting for a file's metadata has given up, its request is cut,
// and the next caller asks again and gets it rather than a cancellation
// kept as the file's answer.
func TestMetadataAbandonedByEveryCallerIsNotKeptAsAFailure(t *testing.T) {
	h, sh, f := startHeldMetadata(t)
	joined, ended := make(chan struct{}), make(chan struct{})
	var joinedOnce, endedOnce sync.Once
	sh.metaFlight.Joined = func(string) { joinedOnce.Do(func() { close(joined) }) }
	sh.metaFlight.Ended = func(string) { endedOnce.Do(func() { close(ended) }) }
	meta := func(ctx context.Context) metaAnswer {
		md, err := sh.metadata(ctx, f)
		return metaAnswer{md, err}
	}
	actx, cancelA := context.WithCancel(t.Context())
	defer cancelA()
	bctx, cancelB := context.WithCancel(t.Context())
	defer cancelB()
	a := flighttest.Go(func() metaAnswer { return meta(actx) })
	flighttest.Wait(t, h.Started(), "the first caller's request reached the index")
	b := flighttest.Go(func() metaAnswer { return meta(bctx) })
	flighttest.Wait(t, joined, "the second caller joined the metadata's flight")
	cancelA()
	cancelB()
	for i, ch := range []<-chan metaAnswer{a, b} {
		if got := flighttest.Get(t, ch, "a caller that gave up"); !errors.Is(got.err, context.Canceled) {
			t.Errorf("caller %d: %v, want its context.Canceled", i+1, got.err)
		}
	}
	flighttest.Wait(t, ended, "the abandoned request ended")
	if got := meta(t.Context()); got.err != nil || got.md == nil || got.md.Name != "six" {
		t.Errorf("the next caller: %+v, %v; want six's metadata", got.md, got.err)
	}
	if n := h.Asked(); n != 2 {
		t.Errorf("metadata requested %d times, want 2: once abandoned, once for the next caller", n)
	}
}
