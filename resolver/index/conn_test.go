package index

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/pypitest"
)

// TestRequestsAtStartShareOneHTTP2Connection sends fifty page requests
// at once from a new client to an https index: over HTTP/2 they share
// the first request's connection instead of dialing one each, and over
// HTTP/1.1 each still gets one of its own.
func TestRequestsAtStartShareOneHTTP2Connection(t *testing.T) {
	const pages = 50
	fake := newProjectsHandler(t, pages, pypitest.WithLatency(20*time.Millisecond))
	tests := []struct {
		name      string
		http2     bool
		wantConns func(n int64) bool
		want      string
	}{
		{"HTTP/2 shares one connection", true, func(n int64) bool { return n == 1 }, "1"},
		{"HTTP/1.1 dials one per request in flight", false, func(n int64) bool { return n > 1 && n <= pages }, fmt.Sprintf("between 2 and %d", pages)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, conns := startTLS(t, fake, tt.http2)
			c := newTLSClient(t, srv, WithParallel(pages))
			var wg sync.WaitGroup
			for i := range pages {
				wg.Go(func() {
					if _, err := c.Project(context.Background(), fmt.Sprintf("p%d", i)); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if n := conns.Load(); !tt.wantConns(n) {
				t.Errorf("%d connections for %d requests at once, want %s", n, pages, tt.want)
			}
		})
	}
}

// TestRequestsAtStartGoOnWhenTheFirstFails: the first request to a host
// that cannot be reached fails, and the requests waiting for its
// connection then fail on their own instead of waiting forever.
func TestRequestsAtStartGoOnWhenTheFirstFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: every dial is refused
	c := newClient(t, []string{"https://" + addr + "/simple/"}, WithRetries(0, 0), WithParallel(8))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range 8 {
		wg.Go(func() {
			if _, err := c.Project(ctx, fmt.Sprintf("p%d", i)); err != nil && ctx.Err() == nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n != 8 {
		t.Errorf("%d of 8 requests failed before the deadline, want all 8", n)
	}
}

// newProjectsHandler is an unstarted fake index of n projects, p0 to
// p<n-1>, each with one release of one pure wheel.
func newProjectsHandler(t *testing.T, n int, opts ...pypitest.Option) *pypitest.Server {
	t.Helper()
	idx := &pypitest.Index{}
	for i := range n {
		idx.Projects = append(idx.Projects, pypitest.Project{Name: fmt.Sprintf("p%d", i),
			Releases: []pypitest.Release{{Version: "1.0", Wheels: []pypitest.Wheel{{Tags: "py3-none-any"}}}}})
	}
	fake := pypitest.New(idx, opts...)
	if err := fake.Err(); err != nil {
		t.Fatal(err)
	}
	return fake
}

// startTLS serves h over TLS (offering HTTP/2 or not) and counts the
// connections accepted.
func startTLS(t *testing.T, h http.Handler, http2 bool) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	conns := &atomic.Int64{}
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = http2
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, conns
}

// newTLSClient is a client of srv's index that trusts srv's certificate.
func newTLSClient(t *testing.T, srv *httptest.Server, opts ...Option) *Client {
	t.Helper()
	c := newClient(t, []string{srv.URL + "/simple/"}, opts...)
	roots := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	c.http.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: roots}
	return c
}

// TestRequestsAtStartDoNotWaitLongForAStuckFirstConnection: the first
// connection to an https host never gets past its TLS handshake (a
// backend that accepts and then hangs), and the requests waiting for it
// go on with connections of their own after a short wait instead of the
// whole handshake timeout.
func TestRequestsAtStartDoNotWaitLongForAStuckFirstConnection(t *testing.T) {
	const requests = 8
	fake := newProjectsHandler(t, requests)
	srv := httptest.NewUnstartedServer(fake)
	srv.EnableHTTP2 = true
	stuck := &holdFirst{Listener: srv.Listener}
	srv.Listener = stuck
	srv.StartTLS()
	t.Cleanup(srv.Close)
	t.Cleanup(stuck.release)
	c := newTLSClient(t, srv, WithRetries(0, 0), WithParallel(requests))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var answered atomic.Int64
	for i := range requests {
		wg.Go(func() {
			if _, err := c.Project(ctx, fmt.Sprintf("p%d", i)); err == nil {
				if answered.Add(1) == requests-1 {
					cancel() // the one on the stuck connection is all that is left
				}
			}
		})
	}
	// The transport gives up on the stuck handshake after 10 s.
	const within = 5 * time.Second
	time.AfterFunc(within, cancel)
	start := time.Now()
	wg.Wait()
	if n := answered.Load(); n < requests-1 {
		t.Errorf("%d of %d requests answered in %v (waited %v), want all but the one on the stuck connection", n, requests, within, time.Since(start).Round(time.Millisecond))
	}
}

// holdFirst is a listener that holds the first connection it accepts,
// unanswered, until release, and hands the others on.
type holdFirst struct {
	net.Listener
	mu   sync.Mutex
	held net.Conn
	done bool
}

func (l *holdFirst) Accept() (net.Conn, error) {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		hold := !l.done && l.held == nil
		if hold {
			l.held = conn
		}
		l.mu.Unlock()
		if !hold {
			return conn, nil
		}
	}
}

func (l *holdFirst) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done = true
	if l.held != nil {
		l.held.Close()
	}
}

// TestAPageWhoseEveryCallerGaveUpIsAskedAgain: a page fetch ended because
// every caller left (a cancelled warm-up, a stopped stale-first search)
// is not remembered as failed: the next caller asks the index again and
// gets the page, where a remembered failure would fail the whole lock.
func TestAPageWhoseEveryCallerGaveUpIsAskedAgain(t *testing.T) {
	fake := pypitest.New(demoIndex())
	var asked atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if asked.Add(1) == 1 {
			select { // the first request stalls until its caller goes
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return
		}
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	c, err := New([]string{srv.URL + "/simple/"}, WithCacheDir(t.TempDir()), WithRetries(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := c.Project(ctx, "six"); err == nil {
		t.Fatal("a caller that gave up got the page")
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	if p, err := c.Project(ctx2, "six"); err != nil || len(p.Files) == 0 {
		t.Errorf("asked again after every caller gave up: %v (requests %d), want the page", err, asked.Load())
	}
}
