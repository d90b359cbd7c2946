package fetch

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestADownloadOfNoSizeIsCutAtTheCeiling: the lock gives no size for a
// wheel and its server sends bytes without end. The download is cut once
// it passes the ceiling (a test-only 1 MiB, for 10 GiB), for good (one
// request), with an error naming the wheel and the limit, in bounded
// time, and nothing is kept. The server stops by itself after 256 MiB,
// so that a fetch without the ceiling ends too (with a hash mismatch).
// The same wheel, served whole, is still fetched without its size.
func TestADownloadOfNoSizeIsCutAtTheCeiling(t *testing.T) {
	_, lock := lockIndex(t, smallIndex(), []string{"app"}, []string{amd64})
	pi, wi := libWheelOf(t, lock)
	realURL := lock.Packages[pi].Wheels[wi].URL
	var requests, sent atomic.Int64
	endless := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		chunk := make([]byte, 64<<10)
		for range 4096 { // 256 MiB, unless the client hangs up first
			n, err := w.Write(chunk)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	defer endless.Close()
	const ceiling = 1 << 20
	withCeiling := func(o *options) error { o.maxUnsized = ceiling; return nil }
	for _, tc := range []struct {
		name, url string
		want      string // in the error; "" for success
	}{
		{"a body without end", endless.URL + "/" + libWheel, "larger than the 1048576 bytes (1.0 MiB) larder takes from a file of unknown size"},
		{"the real wheel", realURL, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := withWheelURL(lock, pi, wi, tc.url)
			p := l.Packages[pi]
			p.Wheels = append(p.Wheels[:0:0], p.Wheels...)
			p.Wheels[wi].Size = 0
			l.Packages[pi] = p
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if !fetchLib(t, ctx, l, tc.want, 30*time.Second, fastOptions(WithRetries(2), withCeiling)...) {
				return
			}
			if n := requests.Load(); n != 1 {
				t.Errorf("%d requests; want one, not retried", n)
			}
			// What the client took is the ceiling and what the kernel's
			// buffers held when it hung up: far from the 256 MiB.
			if n := sent.Load(); n > 64<<20 {
				t.Errorf("the server sent %d bytes before the client hung up", n)
			}
		})
	}
}
