package serve

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/testenv"
)

// countingUpstream serves idx, counting the page requests for each path,
// and answers 404 to every project it does not have.
type countingUpstream struct {
	mu    sync.Mutex
	asked map[string]int
	total atomic.Int64
}

func startCountingUpstream(t *testing.T, idx *pypitest.Index, hold func(r *http.Request)) (*countingUpstream, string) {
	t.Helper()
	h := pypitest.New(idx)
	c := &countingUpstream{asked: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/simple/") && r.URL.Path != "/simple/" {
			c.total.Add(1)
			c.mu.Lock()
			c.asked[r.URL.Path]++
			c.mu.Unlock()
			if hold != nil {
				hold(r)
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return c, srv.URL + "/simple/"
}

func (c *countingUpstream) of(project string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.asked["/simple/"+project+"/"]
}

// askAll GETs the project page of every name with workers at once, as
// one client, and reports the first answer that is not want.
func askAll(ctx context.Context, client *http.Client, base string, names []string, workers int, headers map[string]string) error {
	next := make(chan string)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for n := range next {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/simple/"+n+"/", nil)
				if err != nil {
					errs <- err
					return
				}
				for k, v := range headers {
					req.Header.Set(k, v)
				}
				resp, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusNotFound {
						err = fmt.Errorf("%s: %s, want 404", n, resp.Status)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	var err error
feed:
	for _, n := range names {
		select {
		case next <- n:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	if err == nil {
		err = <-errs
	}
	return err
}

// TestRandomNamesCostOneUpstreamRequestEachAndEvictNoRealPage: a client
// asks for 20,000 names the upstream has no page for. The upstream sees
// one request for each; the server remembers at most maxMissing of them,
// and asking again for those it remembers (the newest) costs nothing
// within the TTL, while the oldest, forgotten, are asked again. A real
// page cached before the flood is still served from the cache: the
// names nobody has never push it out (they shared its cache of 4,096
// pages, so the flood made every real page a new upstream request). Past
// the TTL a remembered name is asked about again.
func TestRandomNamesCostOneUpstreamRequestEachAndEvictNoRealPage(t *testing.T) {
	testenv.Slow(t, "asks for 20,000 names")
	up, upURL := startCountingUpstream(t, upstreamIndex(), nil)
	st, _ := smallStore(t)
	clock := newFakeClock()
	s, base := startServer(t, st, WithUpstream(upURL), WithCacheDir(t.TempDir()), withClock(clock.now))
	if p := pageOf(t, base, "gamma"); len(fileNames(p)) != 1 {
		t.Fatalf("gamma: %v", fileNames(p))
	}
	const n = 20000
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("nobody-has-%05d", i)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	t.Cleanup(client.CloseIdleConnections)
	// More workers than a client's fetch slots: some wait for one.
	if err := askAll(ctx, client, base, names, 2*maxFetchesPerClient, nil); err != nil {
		t.Fatal(err)
	}
	before := up.total.Load()
	if want := int64(n + 1); before != want {
		t.Errorf("%d names nobody has, and gamma: %d upstream requests, want %d", n, before, want)
	}
	s.up.mu.Lock()
	remembered, ring := s.up.missing.len(), len(s.up.missing.ring)
	s.up.mu.Unlock()
	if remembered != maxMissing || ring != maxMissing {
		t.Errorf("after %d names nobody has: %d remembered in a ring of %d, want %d in %d", n, remembered, ring, maxMissing, maxMissing)
	}
	// The newest names, but for those added in another order by the
	// workers at the ring's end, every 16th: remembered.
	var newest, oldest []string
	for i := n - maxMissing + 64; i < n; i += 16 {
		newest = append(newest, names[i])
	}
	if err := askAll(ctx, client, base, newest, 4, nil); err != nil {
		t.Fatal(err)
	}
	if got := up.total.Load() - before; got != 0 {
		t.Errorf("%d of the newest names asked again within the TTL: %d upstream requests, want 0", len(newest), got)
	}
	if g := pageOf(t, base, "gamma"); len(fileNames(g)) != 1 || up.of("gamma") != 1 {
		t.Errorf("gamma after the flood: %v, the upstream asked %d times; want its page from the cache, asked once", fileNames(g), up.of("gamma"))
	}
	// The oldest, every 16th: forgotten, and asked again.
	for i := 0; i < n-maxMissing-64; i += 16 {
		oldest = append(oldest, names[i])
	}
	before = up.total.Load()
	if err := askAll(ctx, client, base, oldest, 4, nil); err != nil {
		t.Fatal(err)
	}
	if got := up.total.Load() - before; got != int64(len(oldest)) {
		t.Errorf("%d of the oldest names asked again: %d upstream requests, want %d (the cache is bounded)", len(oldest), got, len(oldest))
	}
	// Past the TTL, a name is asked about again, once.
	clock.advance(DefaultTTL)
	last := names[n-1]
	for range 3 {
		if resp, _ := get(t, base+"/simple/"+last+"/", pipAccept); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("%s past the TTL: %d, want 404", last, resp.StatusCode)
		}
	}
	if got := up.of(last); got != 2 {
		t.Errorf("%s asked thrice, the last three past the TTL: the upstream asked %d times, want 2", last, got)
	}
}

// TestOneClientFetchesAtMostItsShareOfUpstreamPagesAtOnce: behind a
// trusted proxy, one client asks for three times maxFetchesPerClient
// names nobody has at once, while the upstream holds every request. The
// upstream sees at most maxFetchesPerClient of them at once; another
// client of the same proxy is not held up by them; once the upstream
// answers, every request is answered 404, each name asked once.
func TestOneClientFetchesAtMostItsShareOfUpstreamPagesAtOnce(t *testing.T) {
	g := newUpstreamGate(100)
	up, upURL := startCountingUpstream(t, upstreamIndex(), func(r *http.Request) {
		if r.URL.Path != "/simple/gamma/" {
			g.hold(r)
		}
	})
	t.Cleanup(g.open)
	s, base, client := startProxiedPastProbe(t, upURL)
	const many = 3 * maxFetchesPerClient
	names := make([]string, many)
	for i := range names {
		names[i] = fmt.Sprintf("flood-%02d", i)
	}
	done := make(chan error, 1)
	go func() {
		done <- askAll(t.Context(), client, base, names, many, map[string]string{"X-Forwarded-For": "203.0.113.7"})
	}()
	g.expectAtOnce(t, maxFetchesPerClient, "requests")
	// ...but another client's does.
	other := make(chan error, 1)
	go func() {
		other <- askAll(t.Context(), client, base, []string{"other-client"}, 1, map[string]string{"X-Forwarded-For": "198.51.100.9"})
	}()
	select {
	case p := <-g.arrived:
		if p != "/simple/other-client/" {
			t.Errorf("the upstream got %s, want the other client's request", p)
		}
	case <-time.After(10 * time.Second):
		t.Error("another client's request did not reach the upstream while the first client's were held")
	}
	g.open()
	awaitAnswers(t, done, 1, "requests")
	awaitAnswers(t, other, 1, "requests")
	g.checkMost(t, maxFetchesPerClient, "requests")
	noClientHolds(t, &s.up.fetches, "page fetch slots once every request was answered")
	for _, n := range append(names, "other-client") {
		if got := up.of(n); got != 1 {
			t.Errorf("%s: the upstream asked %d times, want 1", n, got)
		}
	}
}

// TestAPageRequestThatFindsAnothersFetchStartedHoldsNoSlotWhileItWaits:
// a client's request for a name waits for one of its page fetch slots;
// meanwhile another client starts the fetch of that name, which the
// upstream holds. Once the first client's other fetches end, its request
// gets a slot, finds the other's fetch and waits for it without the slot:
// the client holds none while the other's fetch is still held, and both
// get the page's answer once it ends.
func TestAPageRequestThatFindsAnothersFetchStartedHoldsNoSlotWhileItWaits(t *testing.T) {
	g := newUpstreamGate(100)
	var shared atomic.Value // the path whose fetch the other client starts
	shared.Store("")
	other, otherArrived := make(chan struct{}), make(chan struct{}, 1)
	up, upURL := startCountingUpstream(t, upstreamIndex(), func(r *http.Request) {
		switch r.URL.Path {
		case "/simple/gamma/":
		case shared.Load():
			otherArrived <- struct{}{}
			select {
			case <-other:
			case <-r.Context().Done():
			case <-time.After(30 * time.Second):
			}
		default:
			g.hold(r)
		}
	})
	var openOther sync.Once
	t.Cleanup(func() { openOther.Do(func() { close(other) }) })
	t.Cleanup(g.open)
	s, base, client := startProxiedPastProbe(t, upURL)
	const first, second = "203.0.113.7", "198.51.100.9"
	names := make([]string, maxFetchesPerClient+1)
	for i := range names {
		names[i] = fmt.Sprintf("wait-%02d", i)
	}
	done := make(chan error, 1)
	go func() {
		done <- askAll(t.Context(), client, base, names, len(names), map[string]string{"X-Forwarded-For": first})
	}()
	held := g.expectAtOnce(t, maxFetchesPerClient, "requests")
	// The one name not at the upstream is the one waiting for a slot.
	waiting := ""
	for _, n := range names {
		if !slices.Contains(held, "/simple/"+n+"/") {
			waiting = n
		}
	}
	shared.Store("/simple/" + waiting + "/")
	second1 := make(chan error, 1)
	go func() {
		second1 <- askAll(t.Context(), client, base, []string{waiting}, 1, map[string]string{"X-Forwarded-For": second})
	}()
	select {
	case <-otherArrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the other client's fetch did not reach the upstream")
	}
	g.open()
	// The first client's other fetches end; its waiting request finds
	// the other's fetch under way and gives its slot back.
	for end := time.Now().Add(5 * time.Second); s.up.fetches.refs(first) != 0 && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.up.fetches.refs(first); n != 0 {
		t.Errorf("the first client holds or waits for %d page fetch slots while its last request waits for another client's fetch, want 0", n)
	}
	select {
	case err := <-done:
		t.Fatalf("the first client's requests all ended (%v) while one waited for the other's fetch", err)
	default:
	}
	openOther.Do(func() { close(other) })
	awaitAnswers(t, done, 1, "requests")
	awaitAnswers(t, second1, 1, "requests")
	noClientHolds(t, &s.up.fetches, "page fetch slots once every request was answered")
	if got := up.of(waiting); got != 1 {
		t.Errorf("%s: the upstream asked %d times, want 1", waiting, got)
	}
}

// startProxiedPastProbe starts a server falling through to upURL behind
// a trusted proxy on loopback (X-Forwarded-For names the client), and a
// client for many requests at once. It asks for gamma first: that first
// request is the breaker's probe, which the others would wait for, and
// the test's upstream answers it at once.
func startProxiedPastProbe(t *testing.T, upURL string) (*Server, string, *http.Client) {
	t.Helper()
	st, _ := smallStore(t)
	s, base := startServer(t, st, WithUpstream(upURL), WithCacheDir(t.TempDir()), withTimeouts(10*time.Second, 40*time.Second),
		WithTrustedProxies("127.0.0.0/8"))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 60 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	if resp, _ := get(t, base+"/simple/gamma/", pipAccept); resp.StatusCode != http.StatusOK {
		t.Fatalf("gamma: %d", resp.StatusCode)
	}
	return s, base, client
}

// upstreamGate holds the requests an upstream's handler gives it until
// it is opened (or the request ends, or 30 s pass), counting those held
// at once and the most ever held.
type upstreamGate struct {
	gate           chan struct{}
	once           sync.Once
	inFlight, most atomic.Int32
	arrived        chan string // the path of each request held, as it arrives
}

// newUpstreamGate returns a gate for up to arrivals requests. The test
// registers its open as a clean-up after the upstream's Close, so that it
// runs before that Close, which waits for the handlers.
func newUpstreamGate(arrivals int) *upstreamGate {
	return &upstreamGate{gate: make(chan struct{}), arrived: make(chan string, arrivals)}
}

func (g *upstreamGate) open() { g.once.Do(func() { close(g.gate) }) }

func (g *upstreamGate) hold(r *http.Request) {
	n := g.inFlight.Add(1)
	defer g.inFlight.Add(-1)
	for m := g.most.Load(); n > m && !g.most.CompareAndSwap(m, n); m = g.most.Load() {
	}
	g.arrived <- r.URL.Path
	select {
	case <-g.gate:
	case <-r.Context().Done():
	case <-time.After(30 * time.Second):
	}
}

// expectAtOnce waits up to 10 s for n held requests, then 300 ms in
// which no other may arrive, and returns the paths of the n.
func (g *upstreamGate) expectAtOnce(t *testing.T, n int, what string) (paths []string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for range n {
		select {
		case p := <-g.arrived:
			paths = append(paths, p)
		case <-deadline:
			g.open()
			t.Fatalf("the upstream saw %d of the client's %s, want %d", g.inFlight.Load(), what, n)
		}
	}
	select {
	case p := <-g.arrived:
		t.Errorf("the upstream got %s beyond the client's %d %s at once", p, n, what)
	case <-time.After(300 * time.Millisecond):
	}
	return paths
}

// checkMost checks the upstream held at most n of the client's requests
// at once, and the other client's one.
func (g *upstreamGate) checkMost(t *testing.T, n int, what string) {
	t.Helper()
	if m := g.most.Load(); m > int32(n)+1 {
		t.Errorf("the upstream had %d %s at once, want at most %d of the client's and 1 of the other", m, what, n)
	}
}

// awaitAnswers waits up to 30 s for each of n results on errs, failing
// the test on any error.
func awaitAnswers(t *testing.T, errs <-chan error, n int, what string) {
	t.Helper()
	for range n {
		select {
		case err := <-errs:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("the %s had no answer once the upstream answered", what)
		}
	}
}
