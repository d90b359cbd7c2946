package registrycache_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/slowtest"
)

// TestAnUploadFromASlowSourceIsNotCutForTheRegistry: the watchdog on an
// upload measures how fast the registry takes it; time spent waiting on
// the caller's reader is not the registry's. A fast registry given 100
// bytes every 300 ms (under 1 KiB/s, never idle for the 2 s bound,
// slowBound, for 4.8 s) takes the whole upload.
func TestAnUploadFromASlowSourceIsNotCutForTheRegistry(t *testing.T) {
	t.Parallel()
	const size = 100 * 16
	c := hostileRegistry(t, slowBound, 30*time.Second, func(<-chan struct{}) http.Handler {
		mux := http.NewServeMux()
		pingOK(mux)
		hostileUploads(mux, func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			if r.Method == http.MethodPatch {
				w.Header().Set("Location", "/v2/c/blobs/uploads/1")
				w.WriteHeader(http.StatusAccepted)
				return
			}
			w.WriteHeader(http.StatusCreated)
		})
		return mux
	})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	start := time.Now()
	if err := c.Put(ctx, someSum, size, &slowtest.Reader{Chunk: 100, Pause: 300 * time.Millisecond, Left: size}); err != nil {
		t.Fatalf("after %v: %v", time.Since(start).Round(time.Millisecond), err)
	}
	if took := time.Since(start); took < 2*slowBound {
		t.Fatalf("took %v: the test means an upload longer than twice the %v idle bound", took, slowBound)
	}
}
