package serve

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/larder-build/larder/internal/flight/flighttest"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/wheelhousetest"
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
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wheelhousetest.Serve(t, ln, s.Serve)
	base := "http://" + ln.Addr().String()

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
