package regtransport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/slowtest"
	"github.com/larder-build/larder/internal/watchdog"
)

// bound is the answer and idle bound of the cases that cut; slowBound
// that of the cases that must not be cut, or not by the idle bound,
// roomy against their pauses of 50 to 300 ms: on a loaded machine a
// 0.3 s pause reached 0.5 s in CI.
const (
	bound     = 500 * time.Millisecond
	slowBound = 2 * time.Second
	slowPause = 300 * time.Millisecond
)

// counted is a caller's transport: it counts the requests it carries.
type counted struct{ n atomic.Int64 }

func (c *counted) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// TestARegistryThatStopsIsCutAndOneThatIsSlowIsNot: every way a server
// can stop (before its headers, in its body, taking an upload, after
// taking one) ends the request soon after the bound with an error
// naming the URL; a server that trickles is cut by the watchdog's rate,
// one longer than a manifest may be by its size; a server slower than
// the bound at every step but never stopped is read whole.
func TestARegistryThatStopsIsCutAndOneThatIsSlowIsNot(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string
		path   string
		body   io.Reader // the request's
		serve  func(stop <-chan struct{}, w http.ResponseWriter, r *http.Request)
		// check judges the request's error, or the error reading its
		// answer's body, and what was read.
		check func(err error, read int64) string
		// slow bounds the request by slowBound, not bound.
		slow bool
	}{
		{
			name: "headers that never come", method: http.MethodGet, path: "/v2/a/manifests/latest",
			serve: func(stop <-chan struct{}, w http.ResponseWriter, r *http.Request) { slowtest.Hang(stop, r) },
			check: wantTimeout(false, false, "no answer from the registry in 500ms"),
		},
		{
			name: "a body that stops", method: http.MethodGet, path: "/v2/a/blobs/sha256:00",
			serve: func(stop <-chan struct{}, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "100000")
				w.Write(make([]byte, 5000))
				w.(http.Flusher).Flush()
				slowtest.Hang(stop, r)
			},
			check: wantTimeout(true, false, "no byte of the answer from the registry in 500ms"),
		},
		{
			name: "a body that trickles", method: http.MethodGet, path: "/v2/a/blobs/sha256:00",
			serve: func(stop <-chan struct{}, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "100000")
				for slowtest.Pause(stop, r, 50*time.Millisecond) {
					w.Write([]byte("x"))
					w.(http.Flusher).Flush()
				}
			},
			// Cut by the rate, not by the idle bound: 50 ms between
			// bytes is far inside slowBound.
			check: func(err error, _ int64) string {
				if !errors.Is(err, watchdog.ErrTooSlow) {
					return "want watchdog.ErrTooSlow"
				}
				return ""
			},
			slow: true,
		},
		{
			name: "an upload the registry stops taking", method: http.MethodPatch, path: "/v2/a/blobs/uploads/1",
			body:  io.LimitReader(zeros{}, 64<<20), // more than the socket buffers hold
			serve: func(stop <-chan struct{}, w http.ResponseWriter, r *http.Request) { slowtest.Hang(stop, r) },
			check: wantTimeout(false, true, "no byte of the upload taken by the registry in 500ms"),
		},
		{
			name: "an upload taken whole, never answered", method: http.MethodPut, path: "/v2/a/blobs/uploads/1",
			body: strings.NewReader("a small blob"),
			serve: func(stop <-chan struct{}, w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				slowtest.Hang(stop, r)
			},
			check: wantTimeout(false, false, "no answer from the registry in 500ms"),
		},
		{
			// The wait says the drain allowance of 2 MiB still in
			// flight: 500 ms + 2 x 32 s/60 s x 500 ms.
			name: "an upload of 2 MiB taken whole, never answered", method: http.MethodPut, path: "/v2/a/blobs/uploads/2",
			body: bytes.NewReader(make([]byte, 2<<20)),
			serve: func(stop <-chan struct{}, w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				slowtest.Hang(stop, r)
			},
			check: wantTimeout(false, false, "no answer from the registry in 1.033s"),
		},
		{
			name: "a manifest longer than a manifest may be", method: http.MethodGet, path: "/v2/manifests/manifests/latest",
			serve: func(stop <-chan struct{}, w http.ResponseWriter, r *http.Request) {
				chunk := make([]byte, 1<<20)
				for range MaxManifestBytes/len(chunk) + 2 {
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
			},
			check: func(err error, _ int64) string {
				if tl, ok := errors.AsType[*TooLargeError](err); !ok || tl.Max != MaxManifestBytes {
					return "want a TooLargeError of MaxManifestBytes"
				}
				return ""
			},
		},
		{
			name: "a blob of a repository named manifests is not a manifest", method: http.MethodGet, path: "/v2/manifests/blobs/sha256:00",
			serve: func(stop <-chan struct{}, w http.ResponseWriter, r *http.Request) {
				w.Write(make([]byte, MaxManifestBytes+1))
			},
			check: wantRead(MaxManifestBytes + 1),
		},
		{
			name: "a slow registry that never stops", method: http.MethodGet, path: "/v2/a/blobs/sha256:00",
			serve: func(stop <-chan struct{}, w http.ResponseWriter, r *http.Request) {
				if !slowtest.Pause(stop, r, slowPause) {
					return
				}
				w.Header().Set("Content-Length", "16384")
				for range 8 { // 2.7 s in all, more than the bound
					w.Write(make([]byte, 2048))
					w.(http.Flusher).Flush()
					if !slowtest.Pause(stop, r, slowPause) {
						return
					}
				}
			},
			check: wantRead(16384), slow: true,
		},
		{
			name: "an upload answered after 0.3 s", method: http.MethodPut, path: "/v2/a/blobs/uploads/1",
			body: io.LimitReader(zeros{}, 1<<20),
			serve: func(stop <-chan struct{}, w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				if slowtest.Pause(stop, r, slowPause) {
					w.Write([]byte("taken"))
				}
			},
			check: wantRead(5), slow: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stop := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tc.serve(stop, w, r) }))
			t.Cleanup(srv.Close)
			t.Cleanup(func() { close(stop) })
			caller := &counted{}
			b := bound
			if tc.slow {
				b = slowBound
			}
			client := &http.Client{Transport: New(caller, Shortened(b, b))}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, tc.method, srv.URL+tc.path, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			var read int64
			resp, err := client.Do(req)
			if err == nil {
				read, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			took := time.Since(start)
			if ctx.Err() != nil {
				t.Fatalf("hung for %v: %v", took, err)
			}
			if err != nil && !strings.Contains(err.Error(), srv.URL+tc.path) {
				t.Errorf("error %q does not name %s", err, srv.URL+tc.path)
			}
			if problem := tc.check(err, read); problem != "" {
				t.Errorf("after %v: err %v, read %d: %s", took, err, read, problem)
			}
			if caller.n.Load() != 1 {
				t.Errorf("the caller's transport carried %d requests, want 1", caller.n.Load())
			}
			if took > 10*b {
				t.Errorf("took %v, want about %v at most", took, 3*b)
			}
		})
	}
}

// wantTimeout wants a TimeoutError of this kind and message.
func wantTimeout(body, upload bool, msg string) func(error, int64) string {
	return func(err error, _ int64) string {
		te, ok := errors.AsType[*TimeoutError](err)
		switch {
		case !ok:
			return "want a *TimeoutError"
		case te.Body != body || te.Upload != upload:
			return "a TimeoutError of another kind"
		case !strings.Contains(err.Error(), msg):
			return "want " + msg
		}
		return ""
	}
}

// wantRead wants the whole answer, n bytes.
func wantRead(n int64) func(error, int64) string {
	return func(err error, read int64) string {
		if err != nil || read != n {
			return "want the whole answer read"
		}
		return ""
	}
}

// zeros is an endless reader of zeros.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// resending is a transport that sends a request's body twice, as
// net/http's does when a reused connection breaks under a request it may
// send again: it reads the body whole, takes a fresh one from GetBody
// and sends that one slowly (a chunk every pause), then hands the request
// to next.
type resending struct {
	next  http.RoundTripper
	pause time.Duration
}

func (s resending) RoundTrip(r *http.Request) (*http.Response, error) {
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		return nil, err
	}
	r.Body.Close()
	if r.GetBody == nil {
		return nil, errors.New("the request cannot be sent again: no GetBody")
	}
	again, err := r.GetBody()
	if err != nil {
		return nil, err
	}
	var sent bytes.Buffer
	buf := make([]byte, 1024)
	for {
		n, err := again.Read(buf)
		sent.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		time.Sleep(s.pause)
	}
	again.Close()
	out := r.Clone(r.Context())
	out.Body, out.GetBody, out.ContentLength = io.NopCloser(&sent), nil, int64(sent.Len())
	return s.next.RoundTrip(out)
}

// TestABodySentAgainIsWatchedAsTheFirstWas: a body the transport sends a
// second time, slowly but never idle for the bound, is not cut by the
// wait for the answer that the first one's end started. The bound is
// slowBound against pauses of 0.3 s.
func TestABodySentAgainIsWatchedAsTheFirstWas(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(srv.Close)
	client := &http.Client{Transport: New(resending{next: http.DefaultTransport, pause: slowPause}, Shortened(slowBound, slowBound))}
	body := bytes.Repeat([]byte("m"), 1024*10) // 10 chunks of 1 KiB, 3 s, 1.5 times the bound
	req, err := http.NewRequest(http.MethodPut, srv.URL+"/v2/a/manifests/dev", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("a body sent again slowly but steadily was cut: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("status %d", resp.StatusCode)
	}
}
