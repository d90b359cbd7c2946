package serve

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/pypitest"
)

// TestOneClientDownloadsAtMostItsShareOfUpstreamFilesAtOnce: behind a
// trusted proxy, one client asks for three times maxDownloadsPerClient
// different fall-through files at once, while the upstream holds every
// file request. The upstream sees at most maxDownloadsPerClient of them
// at once; another client of the same proxy still gets its download
// started; once the upstream answers, every download is whole, and no
// client is kept among those holding download slots.
func TestOneClientDownloadsAtMostItsShareOfUpstreamFilesAtOnce(t *testing.T) {
	const many = 3 * maxDownloadsPerClient
	idx := &pypitest.Index{Projects: []pypitest.Project{{Name: "wide"}}}
	for i := range many + 1 {
		idx.Projects[0].Releases = append(idx.Projects[0].Releases, release(fmt.Sprintf("1.%d", i)))
	}
	h := pypitest.New(idx)
	g := newUpstreamGate(2 * many)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/files/") {
			g.hold(r)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(up.Close)
	t.Cleanup(g.open) // before the upstream's Close, which waits for the handlers
	warmUp(t, up.URL, "wide")
	st, _ := smallStore(t)
	s, base := startServer(t, st, WithUpstream(up.URL+"/simple/"), WithCacheDir(t.TempDir()), withTimeouts(10*time.Second, 40*time.Second),
		WithTrustedProxies("127.0.0.0/8"))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 60 * time.Second}
	t.Cleanup(client.CloseIdleConnections)

	// The page lists the files (and, the breaker's probe, is answered at
	// once).
	files := fileNames(pageOf(t, base, "wide"))
	if len(files) != many+1 {
		t.Fatalf("the page lists %d files, want %d", len(files), many+1)
	}
	var names []string
	for name := range files {
		names = append(names, name)
	}
	mine, theirs := names[:many], names[many]

	download := func(name, forwardedFor string) error {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/files/"+name, nil)
		if err != nil {
			return err
		}
		req.Header.Set("X-Forwarded-For", forwardedFor)
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return fmt.Errorf("%s: reading: %w", name, err)
		}
		if resp.StatusCode != http.StatusOK || sha256Of(body) != files[name] {
			return fmt.Errorf("%s: %s, sha256 %s; want 200 and the listed file", name, resp.Status, sha256Of(body))
		}
		return nil
	}
	errs := make(chan error, many+1)
	for _, name := range mine {
		go func() { errs <- download(name, "203.0.113.7") }()
	}
	// No more of that client's come while its downloads are held...
	g.expectAtOnce(t, maxDownloadsPerClient, "downloads")
	// ...but another client's does.
	go func() { errs <- download(theirs, "198.51.100.9") }()
	select {
	case p := <-g.arrived:
		if p != "/files/"+theirs {
			t.Errorf("the upstream got %s, want the other client's download", p)
		}
	case <-time.After(10 * time.Second):
		t.Error("another client's download did not reach the upstream while the first client's were held")
	}
	g.open()
	awaitAnswers(t, errs, many+1, "downloads")
	g.checkMost(t, maxDownloadsPerClient, "downloads")
	noClientHolds(t, &s.up.downloads, "download slots once every download ended")
}

// noClientHolds waits up to 5 s until no client holds or waits for one
// of slots: a handler gives its slot back once it has returned, which
// may be just after its client read the last byte.
func noClientHolds(t *testing.T, slots *clientSlots, when string) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); slots.clients() != 0 && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := slots.clients(); n != 0 {
		t.Errorf("%d clients still hold %s, want 0", n, when)
	}
}

// TestAFallThroughWaitingForASlotEndsWithItsRequest: a client holding
// every slot of a kind (downloads for files, fetches for metadata), its
// next request of that kind waits; when that request is given up, the
// wait ends with it, and the upstream never sees it. Once the slots are
// free, the same request goes through.
func TestAFallThroughWaitingForASlotEndsWithItsRequest(t *testing.T) {
	for _, tc := range []struct {
		name   string
		suffix string
		slots  func(*upstream) *clientSlots
		size   int
	}{
		{"a file download", "", func(u *upstream) *clientSlots { return &u.downloads }, maxDownloadsPerClient},
		{"a metadata file", ".metadata", func(u *upstream) *clientSlots { return &u.fetches }, maxFetchesPerClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idx := &pypitest.Index{Projects: []pypitest.Project{{Name: "wide", Releases: []pypitest.Release{release("1.0")}}}}
			h := pypitest.New(idx)
			var asked atomic.Int32
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/files/") {
					asked.Add(1)
				}
				h.ServeHTTP(w, r)
			}))
			t.Cleanup(up.Close)
			warmUp(t, up.URL, "wide")
			st, _ := smallStore(t)
			s, base := startServer(t, st, WithUpstream(up.URL+"/simple/"), WithCacheDir(t.TempDir()), withTimeouts(10*time.Second, 40*time.Second))
			files := fileNames(pageOf(t, base, "wide"))
			var name string
			for n := range files {
				name = n
			}
			slots := tc.slots(s.up)
			// Every slot of this client (the test's own address) is taken.
			bound, stop := context.WithTimeout(t.Context(), 10*time.Second)
			defer stop()
			for range tc.size {
				if err := slots.acquire(bound, "127.0.0.1"); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(bound, 300*time.Millisecond)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/files/"+name+tc.suffix, nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
				t.Fatalf("a request while the client held every slot: %s, want it to wait until given up", resp.Status)
			}
			// The server sees the request given up once its connection
			// closes: the wait ends then, before a slot is free.
			for end := time.Now().Add(5 * time.Second); slots.refs("127.0.0.1") != tc.size && time.Now().Before(end); {
				time.Sleep(10 * time.Millisecond)
			}
			if n := slots.refs("127.0.0.1"); n != tc.size {
				t.Fatalf("%d requests hold or wait for the client's slots once the waiting one was given up, want the %d held", n, tc.size)
			}
			if n := asked.Load(); n != 0 {
				t.Errorf("the upstream was asked for %d files, want none", n)
			}
			for range tc.size {
				slots.release("127.0.0.1")
			}
			noClientHolds(t, slots, "slots after the wait was given up and the slots given back")
			if resp, _ := get(t, base+"/files/"+name+tc.suffix); resp.StatusCode != http.StatusOK {
				t.Errorf("the request once the slots were free: %d, want 200", resp.StatusCode)
			}
			if n := asked.Load(); n != 1 {
				t.Errorf("the upstream was asked for %d files, want 1", n)
			}
		})
	}
}

// warmUp has the fake index build a project's files before the server
// under test asks for its page: building them (slow under -race on a
// busy machine) must not count against the server's probe timeout.
func warmUp(t *testing.T, upURL, project string) {
	t.Helper()
	resp, body := get(t, upURL+"/simple/"+project+"/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the fake index's page of %s: %d %s", project, resp.StatusCode, body)
	}
}

// refs is how many requests hold or wait for client's slots.
func (s *clientSlots) refs(client string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.m[client]; c != nil {
		return c.refs
	}
	return 0
}
