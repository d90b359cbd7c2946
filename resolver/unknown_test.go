package resolver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/parsetest"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/pep508"
	"github.com/larder-build/larder/resolver/target"
)

// inFlight counts the requests a handler serves and the most it serves at
// once.
type inFlight struct {
	next          http.Handler
	now, max, all atomic.Int64
	mu            sync.Mutex
	pages         map[string]int
}

// ServeHTTP counts a request in flight from its arrival until its handler
// returns or its client goes away, whichever is first: a request the
// client cancelled no longer holds one of its slots, though the handler may
// still be sleeping through its latency.
func (c *inFlight) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := c.now.Add(1)
	var once sync.Once
	done := func() { once.Do(func() { c.now.Add(-1) }) }
	stop := context.AfterFunc(r.Context(), done)
	defer stop()
	defer done()
	c.all.Add(1)
	for {
		m := c.max.Load()
		if n <= m || c.max.CompareAndSwap(m, n) {
			break
		}
	}
	c.mu.Lock()
	c.pages[r.URL.Path]++
	c.mu.Unlock()
	c.next.ServeHTTP(w, r)
}

func TestManyUnknownNamesStopAtTheFirstWithinTheIndexLimit(t *testing.T) {
	const parallel = 4
	idx := &pypitest.Index{}
	var reqs []Requirement
	for i := range 3 {
		name := fmt.Sprintf("known%d", i)
		idx.Projects = append(idx.Projects, pypitest.Project{Name: name, Releases: []pypitest.Release{
			{Version: "1.0", Wheels: []pypitest.Wheel{{Tags: "py3-none-any"}}}}})
	}
	for i := range 3 {
		reqs = append(reqs, mustRequirement(t, fmt.Sprintf("known%d==1.0", i)))
	}
	for i := range 5000 {
		reqs = append(reqs, mustRequirement(t, fmt.Sprintf("unknown-%05d==1.0", i)))
	}
	fake := pypitest.New(idx, pypitest.WithLatency(2*time.Millisecond))
	if err := fake.Err(); err != nil {
		t.Fatal(err)
	}
	counter := &inFlight{next: fake, pages: map[string]int{}}
	srv := httptest.NewServer(counter)
	defer srv.Close()
	c, err := index.New([]string{srv.URL + "/simple/"}, index.WithCacheDir(t.TempDir()), index.WithRetries(0, 0), index.WithParallel(parallel))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err = Resolve(ctx, c, Request{
		Requirements: reqs,
		Targets:      []target.Target{mustTarget(t, "linux/amd64:3.11:glibc2.36"), mustTarget(t, "linux/arm64:3.12:glibc2.36")},
	})
	var nf *index.NotFoundError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "unknown-") {
		t.Fatalf("error %v, want a project not found", err)
	}
	t.Logf("%d requests, at most %d in flight", counter.all.Load(), counter.max.Load())
	// Each target may ask once more for pages cancelled in flight, and
	// the error asks for the project list to suggest names.
	if got, limit := counter.all.Load(), int64(3+4*parallel*2+4); got > limit {
		t.Errorf("%d requests for 5000 unknown names, want at most %d", got, limit)
	}
	// Counted at the server, one more than the client's limit can show:
	// the client frees its slot once it has read the last byte, and its
	// next request can arrive before the finished handler has returned
	// (seen once in a loaded make test).
	if got := counter.max.Load(); got > parallel+1 {
		t.Errorf("%d requests in flight at once, want at most %d (the index's limit, and one the server has not yet seen finish)", got, parallel+1)
	}
}

func mustRequirement(t *testing.T, s string) Requirement {
	t.Helper()
	return Requirement{Requirement: parsetest.Must(t, pep508.ParseRequirement, s), Source: "requirements.txt:1"}
}

// TestAFailedResolutionReportsWhyNotTheCancellationItCaused: when one
// target fails, a page another target shared with it is cancelled, and
// errgroup may return that target's "context canceled" first; the error
// reported is the one that says why, unless the caller cancelled.
func TestAFailedResolutionReportsWhyNotTheCancellationItCaused(t *testing.T) {
	notFound := fmt.Errorf("resolving for linux/amd64: %w", &index.NotFoundError{Name: "unknown-00001"})
	cancelled := fmt.Errorf("resolving for linux/arm64: Get /simple/known1/: %w", context.Canceled)
	alive := context.Background()
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name  string
		ctx   context.Context
		first error
		errs  []error
		want  error
	}{
		{"the other target's cause over a cancellation it caused", alive, cancelled, []error{notFound, cancelled}, notFound},
		{"the cause when it came first", alive, notFound, []error{notFound, cancelled}, notFound},
		{"the cancellation when the caller cancelled", ended, cancelled, []error{notFound, cancelled}, cancelled},
		{"the cancellation when nothing else says why", alive, cancelled, []error{nil, cancelled}, cancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := causeOf(tt.ctx, tt.first, tt.errs); got != tt.want {
				t.Errorf("causeOf: %v, want %v", got, tt.want)
			}
		})
	}
}
