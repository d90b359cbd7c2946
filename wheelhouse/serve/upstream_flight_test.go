package serve

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/flight/flighttest"
	"github.com/larder-build/larder/internal/pypitest"
)

// TestAPipThatDisconnectsDoesNotFailTheOthersWaitingForTheSamePage: a
// pip whose request made the server ask the upstream for a page
// disconnects while another pip waits for the same page: the other
// still gets the page, and the upstream is asked once.
func TestAPipThatDisconnectsDoesNotFailTheOthersWaitingForTheSamePage(t *testing.T) {
	idx := pypitest.New(upstreamIndex())
	upURL, hold := flighttest.Serve(t, idx, func(r *http.Request) bool { return r.URL.Path == "/simple/gamma/" })
	st, _ := smallStore(t)
	s, err := New(st, WithUpstream(upURL+"/simple/"), WithCacheDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	joined := make(chan struct{})
	var joinedOnce sync.Once
	s.up.testHookJoined = func(string) { joinedOnce.Do(func() { close(joined) }) }
	base := serveOn(t, s)

	type answer struct {
		code int
		body string
		err  error
	}
	pip := func(ctx context.Context) answer {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/simple/gamma/", nil)
		if err != nil {
			return answer{err: err}
		}
		req.Header.Set("Accept", strings.TrimPrefix(pipAccept, "Accept: "))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return answer{err: err}
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return answer{resp.StatusCode, string(body), err}
	}
	errOf := func(a answer) error { return a.err }
	got := flighttest.GiveUp(t, pip, errOf, hold.Started(), joined, hold.Release)
	if got.err != nil || got.code != http.StatusOK || !strings.Contains(got.body, "gamma-0.5") {
		t.Errorf("the pip that waited: %d %q, %v; want gamma's page", got.code, got.body, got.err)
	}
	if n := hold.Asked(); n != 1 {
		t.Errorf("the upstream was asked for the page %d times, want 1", n)
	}
}

// TestAnUpstreamFetchThatPanicsFailsItsRequestsAndTheServerGoesOn: the
// fetch of a page panics (a bug an upstream's answer tripped, here a
// test hook) while two requests wait for it. Both are answered, the
// stack is logged once, and the server goes on: the next request for
// the page asks the upstream again and gets it (the panicking fetch was
// the breaker's first probe, and let it go).
func TestAnUpstreamFetchThatPanicsFailsItsRequestsAndTheServerGoesOn(t *testing.T) {
	idx := pypitest.New(upstreamIndex())
	var asked atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/simple/gamma/" {
			asked.Add(1)
		}
		idx.ServeHTTP(w, r)
	}))
	t.Cleanup(up.Close)
	st, _ := smallStore(t)
	log := &testLog{}
	s, err := New(st, WithUpstream(up.URL+"/simple/"), WithCacheDir(t.TempDir()), WithLogger(log.logger()))
	if err != nil {
		t.Fatal(err)
	}
	joined := make(chan struct{})
	var joinedOnce sync.Once
	s.up.testHookJoined = func(string) { joinedOnce.Do(func() { close(joined) }) }
	var panicked atomic.Bool
	s.up.testHookAnswered = func(norm string) {
		if norm == "gamma" && panicked.CompareAndSwap(false, true) {
			select {
			case <-joined:
			case <-time.After(flighttest.Bound):
			}
			panic("a bug an upstream answer tripped")
		}
	}
	base := serveOn(t, s)

	type answer struct {
		code int
		err  error
	}
	ask := func() answer {
		ctx, cancel := context.WithTimeout(t.Context(), flighttest.Bound)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/simple/gamma/", nil)
		if err != nil {
			return answer{err: err}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return answer{err: err}
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		return answer{resp.StatusCode, err}
	}
	a, b := flighttest.Go(ask), flighttest.Go(ask)
	for _, ch := range []<-chan answer{a, b} {
		select {
		case got := <-ch:
			if got.err != nil || got.code != http.StatusNotFound {
				t.Errorf("a request waiting for the fetch that panicked: %d, %v; want 404 (no local files, and no upstream page)", got.code, got.err)
			}
		case <-time.After(2 * flighttest.Bound):
			t.Fatal("a request waiting for the fetch that panicked had no answer")
		}
	}
	if !panicked.Load() {
		t.Fatal("the test hook did not panic")
	}
	if n := strings.Count(log.String(), "stack="); n != 1 {
		t.Errorf("logged the panic's stack %d times, want once:\n%s", n, log.String())
	}
	if !strings.Contains(log.String(), "upstream_flight_test.go") {
		t.Errorf("the log has no stack:\n%s", log.String())
	}
	resp, body := get(t, base+"/simple/gamma/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "gamma-0.5") {
		t.Errorf("gamma's page after the panic: %d %q; want the upstream's page", resp.StatusCode, body)
	}
	if n := asked.Load(); n != 2 {
		t.Errorf("the upstream was asked for the page %d times, want 2 (the fetch that panicked, then the next)", n)
	}
}
