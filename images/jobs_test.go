package images

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// TestWriteMovesAtMostRemoteJobsBlobsAtOnce pushes to a registry that
// counts blob requests in flight: Remote.Jobs is a ceiling, 1 included
// (it once became 4).
func TestWriteMovesAtMostRemoteJobsBlobsAtOnce(t *testing.T) {
	for _, jobs := range []int{1, 2} {
		t.Run(fmt.Sprint(jobs), func(t *testing.T) {
			var mu sync.Mutex
			inFlight, most := 0, 0
			h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.Contains(r.URL.Path, "/blobs/") {
					mu.Lock()
					inFlight++
					most = max(most, inFlight)
					mu.Unlock()
					defer func() { mu.Lock(); inFlight--; mu.Unlock() }()
					// Long enough for parallel uploads to overlap.
					time.Sleep(10 * time.Millisecond)
				}
				h.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			img, err := random.Image(256, 6)
			if err != nil {
				t.Fatal(err)
			}
			ref := mustRef(t, "docker://"+strings.TrimPrefix(srv.URL, "http://")+"/app:jobs")
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := Write(ctx, ref, Artifact{Image: img}, Remote{Jobs: jobs}, nil); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if most > jobs {
				t.Errorf("%d blob requests at once with Jobs %d", most, jobs)
			}
		})
	}
}
