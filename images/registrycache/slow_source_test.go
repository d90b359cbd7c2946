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
// bytes every 300 ms (under 1 KiB/s, never idle for the 1 s bound) takes
// the whole upload.
func TestAnUploadFromASlowSourceIsNotCutForTheRegistry(t *testing.T) {
	t.Parallel()
	const size = 100 * 12
	c := hostileRegistry(t, 30*time.Second, func(<-chan struct{}) http.Handler {
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
	if took := time.Since(start); took < 2*time.Second {
		t.Fatalf("took %v: the test means an upload longer than twice the 1 s idle bound", took)
	}
}
