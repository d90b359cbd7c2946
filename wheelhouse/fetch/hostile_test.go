package fetch

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/resolver/pylock"
)

// TestAHostileFileServerKeepsNothingUnverified serves the lock's wheel of
// lib from a hostile or broken server: every answer ends in bounded time
// with an error (or, for a redirect to another host, the verified file),
// and nothing unverified is kept in the store.
func TestAHostileFileServerKeepsNothingUnverified(t *testing.T) {
	_, lock := lockIndex(t, smallIndex(), []string{"app"}, []string{amd64})
	pi, wi := libWheelOf(t, lock)
	real := testenv.Download(t, lock.Packages[pi].Wheels[wi].URL)
	var bomb bytes.Buffer
	gz := gzip.NewWriter(&bomb)
	_, _ = gz.Write(make([]byte, 64<<20))
	_ = gz.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(real) }))
	defer other.Close()
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    string // in the error; "" for success
	}{
		{"longer than its size", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write(real)
			for range 1 << 14 { // 1 GiB, unless the client hangs up
				if _, err := w.Write(make([]byte, 64<<10)); err != nil {
					return
				}
			}
		}, "larger than"},
		{"200 with an HTML page", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte(strings.Repeat("<p>login</p>", len(real))[:len(real)]))
		}, "sha256 mismatch"},
		{"gzip bomb", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(bomb.Bytes())
		}, "bytes"},
		{"redirect loop", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, r.URL.Path, http.StatusFound)
		}, "stopped after 10 redirects"},
		{"one byte, then nothing", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000000")
			_, _ = w.Write(real[:1])
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}, "no data received for too long"},
		{"a byte at a time, never idle", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000000")
			for i := range 1000000 {
				select {
				case <-r.Context().Done():
					return
				case <-time.After(50 * time.Millisecond):
				}
				_, _ = w.Write(real[i%len(real) : i%len(real)+1])
				w.(http.Flusher).Flush()
			}
		}, "averages under 1024 bytes a second"},
		{"redirect to another host", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/"+libWheel, http.StatusFound)
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var requests atomic.Int64
			hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				tc.handler(w, r)
			}))
			defer hostile.Close()
			l := withWheelURL(lock, pi, wi, hostile.URL+"/"+libWheel)
			// A stall time of a second: roomy against the trickle's 50 ms
			// between bytes (a stall would be retried, not cut for its
			// rate) and the download of the case that succeeds.
			opts := fastOptions(WithRetries(2), func(o *options) error { o.stall = time.Second; return nil })
			if fetchLib(t, context.Background(), l, tc.want, 10*time.Second, opts...) {
				if n := requests.Load(); n > 3*11 {
					t.Errorf("%d requests; want at most three attempts", n)
				}
			}
		})
	}
}

// TestAWheelPipWouldRefuseIsNotKept: an index serves, under the lock's
// own hash, the lock's wheel of lib with a member an installer would
// write outside its folder: the fetch fails naming the wheel and the
// member, and keeps nothing of it.
func TestAWheelPipWouldRefuseIsNotKept(t *testing.T) {
	_, lock := lockIndex(t, smallIndex(), []string{"app"}, []string{amd64})
	pi, wi := libWheelOf(t, lock)
	real := testenv.Download(t, lock.Packages[pi].Wheels[wi].URL)
	for _, member := range []string{"../../evil.py", "/etc/profile.d/evil.sh", `lib\..\..\evil.py`, "C:/evil.py"} {
		t.Run(member, func(t *testing.T) {
			hostile := withListedMember(t, real, member)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(hostile) }))
			defer srv.Close()
			sum := sha256.Sum256(hostile)
			l := withWheelURL(lock, pi, wi, srv.URL+"/"+libWheel)
			w := &l.Packages[pi].Wheels[wi]
			w.Hashes, w.Size = pylock.Hashes{"sha256": hex.EncodeToString(sum[:])}, int64(len(hostile))
			s := newStore(t)
			_, err := Fetch(context.Background(), s, l, fastOptions()...)
			if err == nil || !strings.Contains(err.Error(), libWheel) || !strings.Contains(err.Error(), strconv.Quote(member)) {
				t.Errorf("got %v; want an error naming %s and %q", err, libWheel, member)
			}
			assertNothingKept(t, s, libWheel)
		})
	}
}

// withListedMember returns a copy of the wheel data with a member named
// name added and listed in its RECORD with its hash, as a wheel built so
// would be.
func withListedMember(t *testing.T, data []byte, name string) []byte {
	t.Helper()
	b, err := pypitest.RewriteWheel(data, pypitest.WheelEdit{Add: map[string]string{name: "import os\n"}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
