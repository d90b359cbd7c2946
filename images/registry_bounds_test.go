package images

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/larder-build/larder/internal/regtransport"
	"github.com/larder-build/larder/internal/slowtest"
	"github.com/larder-build/larder/internal/testenv"
)

// bound is every time bound of the registry requests in these tests.
const bound = 500 * time.Millisecond

// boundedRemote is anonymous registry access with every bound shortened
// to bound.
func boundedRemote() Remote {
	return Remote{Keychain: authn.NewMultiKeychain(), timeouts: regtransport.Shortened(bound, bound)}
}

// hostileRegistry is go-containerregistry's registry on 127.0.0.1, seen
// through wrap, which may hold or slow any request; it holds the image
// "base:latest" (put there around wrap). Handlers that hang return when
// the test ends.
func hostileRegistry(t *testing.T, base v1.Image, wrap func(stop <-chan struct{}, next http.Handler) http.Handler) *httptest.Server {
	t.Helper()
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	plain := httptest.NewServer(h)
	defer plain.Close()
	if base != nil {
		ref, err := name.ParseReference(strings.TrimPrefix(plain.URL, "http://") + "/base:latest")
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, base); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	srv := httptest.NewServer(wrap(stop, h))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) })
	return srv
}

// hangOn wraps a registry so that the requests match picks are taken
// and never answered.
func hangOn(match func(*http.Request) bool) func(stop <-chan struct{}, next http.Handler) http.Handler {
	return func(stop <-chan struct{}, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if match(r) {
				slowtest.Hang(stop, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// hangOnBigUploads wraps a registry so that it takes the first MiB of an
// upload longer than that and then never reads on nor answers; it takes
// and answers shorter uploads. A bake uploads several blobs at once: were
// a small one's upload hung too, taken whole into the socket buffers and
// never answered, its cut (no answer) could come before the big one's
// (no byte of the upload taken), as it did on a loaded machine.
func hangOnBigUploads(stop <-chan struct{}, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isUpload(r) {
			head, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
			if err != nil {
				return
			}
			if len(head) > 1<<20 {
				slowtest.Hang(stop, r)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(head))
		}
		next.ServeHTTP(w, r)
	})
}

// isManifest and isBlobGet tell the requests of an image's read apart;
// isUpload is a request carrying a blob's bytes.
func isManifest(r *http.Request) bool { return strings.Contains(r.URL.Path, "/manifests/") }
func isBlobGet(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:")
}
func isUpload(r *http.Request) bool {
	return strings.Contains(r.URL.Path, "/blobs/uploads/") && r.ContentLength != 0 && r.Method != http.MethodPost
}

// trickle answers r as next would, its body piece bytes at a time, every
// each, as long as stallAfter (all when < 0) allows, then nothing.
func trickle(stop <-chan struct{}, w http.ResponseWriter, r *http.Request, next http.Handler, piece int, each time.Duration, stallAfter int) {
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	body := rec.Body.Bytes()
	for sent := 0; sent < len(body); sent += piece {
		if stallAfter >= 0 && sent >= stallAfter {
			slowtest.Hang(stop, r)
			return
		}
		w.Write(body[sent:min(sent+piece, len(body))])
		w.(http.Flusher).Flush()
		if !slowtest.Pause(stop, r, each) {
			return
		}
	}
}

// bigBase is an OCI layout of one linux/amd64 image whose one layer is
// size random bytes: its upload is more than the socket buffers hold.
func bigBase(t *testing.T, size int) Ref {
	t.Helper()
	data := make([]byte, size)
	rand.Read(data)
	img, err := mutate.AppendLayers(empty.Image, static.NewLayer(data, types.OCIUncompressedLayer))
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	return imageLayout(t, editConfig(t, img, func(cf *v1.ConfigFile) {
		cf.OS, cf.Architecture = "linux", "amd64"
	}), "big")
}

// TestAHostileRegistryCannotHangABake: a base, a previous image or an
// output on a registry that takes the connection and then never
// answers, stops sending an answer's body, or stops taking an upload
// ends the bake with an error naming the request's URL, soon after the
// bound, not never.
func TestAHostileRegistryCannotHangABake(t *testing.T) {
	t.Parallel()
	s := sample(t)
	tests := []struct {
		name string
		base string // "registry" (the hostile one's base:latest), "layout" or "big"
		out  string // "registry" (the hostile one's app:dev) or "layout"
		wrap func(stop <-chan struct{}, next http.Handler) http.Handler
		want string
		// upload says the registry stopped taking an upload's bytes (its
		// error is the transport's own).
		upload bool
	}{
		{
			name: "a base whose manifest never answers", base: "registry", out: "layout",
			wrap: hangOn(isManifest),
			want: "/v2/base/manifests/latest: no answer from the registry in 500ms",
		},
		{
			name: "a base whose blob trickles, then stalls", base: "registry", out: "layout",
			wrap: func(stop <-chan struct{}, next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if isBlobGet(r) {
						trickle(stop, w, r, next, 16, 50*time.Millisecond, 64)
						return
					}
					next.ServeHTTP(w, r)
				})
			},
			want: "/v2/base/blobs/sha256:",
		},
		{
			name: "a previous image to refresh whose manifest never answers", base: "layout", out: "registry",
			wrap: hangOn(isManifest),
			want: "/v2/app/manifests/dev: no answer from the registry in 500ms",
		},
		{
			name: "an output that stops taking a blob's upload", base: "big", out: "registry",
			wrap: hangOnBigUploads,
			want: "/v2/app/blobs/uploads/", upload: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var img v1.Image
			if tc.base == "registry" {
				img = baseImage(t, "amd64")
			}
			srv := hostileRegistry(t, img, tc.wrap)
			host := strings.TrimPrefix(srv.URL, "http://")
			var base, out Ref
			switch tc.base {
			case "registry":
				base = mustRef(t, "docker://"+host+"/base:latest")
			case "layout":
				base = baseLayout(t)
			case "big":
				base = bigBase(t, 32<<20) // more than the socket buffers hold
			}
			switch tc.out {
			case "registry":
				out = mustRef(t, "docker://"+host+"/app:dev")
			case "layout":
				out = mustRef(t, "oci:"+filepath.Join(t.TempDir(), "out")+":dev")
			}
			req := request(t, s, base, out, "linux/amd64")
			// The test's own limit: a bake that outlives it hangs.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			start := time.Now()
			_, err := Bake(ctx, req, WithRemote(boundedRemote()))
			took := time.Since(start)
			if err == nil {
				t.Fatal("the bake succeeded")
			}
			if ctx.Err() != nil {
				t.Fatalf("the bake hung for %v: %v", took, err)
			}
			t.Logf("cut after %v: %v", took, err)
			if !strings.Contains(err.Error(), srv.URL+tc.want) {
				t.Errorf("error %q, want one naming %s%s", err, srv.URL, tc.want)
			}
			te, ok := errors.AsType[*regtransport.TimeoutError](err)
			if !ok {
				// A trickle is cut by the watchdog's rate.
				if !strings.Contains(err.Error(), "averages under") {
					t.Errorf("error %q (%T) is not a *regtransport.TimeoutError", err, err)
				}
			} else if te.Upload != tc.upload {
				t.Errorf("error %q: Upload %v, want %v", err, te.Upload, tc.upload)
			}
			// Each request that hangs is cut after its bound; the bake
			// makes a few in a row, and a 32 MiB layer is written first.
			if took > 20*bound {
				t.Errorf("the bake took %v to fail, want about %v", took, bound)
			}
		})
	}
}

// TestASlowButProgressingRegistryIsNotCut: a base whose every answer
// takes 0.3 s to begin and whose blobs come a few hundred bytes at a
// time, one blob taking longer than the bounds, and an output registry
// that answers as slowly, still bake: the bounds cut a registry that
// stops, not one that is slow. The bounds here are slowBound, not bound:
// on a loaded machine a 0.3 s pause can reach 0.5 s before the client
// sees its answer (it did in CI), and the test is about a slow
// registry, not about a machine's scheduling.
func TestASlowButProgressingRegistryIsNotCut(t *testing.T) {
	testenv.Slow(t, "a registry that takes 0.3 s to every answer and sends blobs at 2.5 KiB/s")
	t.Parallel()
	const slowBound = 5 * time.Second
	s := sample(t)
	slow := func(stop <-chan struct{}, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// The upload's bytes are taken at once; its answer, as every
			// other, comes after 0.3 s.
			if r.Body != nil {
				body, err := io.ReadAll(r.Body)
				if err != nil {
					return
				}
				r.Body = io.NopCloser(bytes.NewReader(body))
			}
			if !slowtest.Pause(stop, r, 300*time.Millisecond) {
				return
			}
			if isBlobGet(r) {
				trickle(stop, w, r, next, 256, 100*time.Millisecond, -1)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	// A layer of random bytes takes about 6 s to trickle, longer than
	// slowBound. (A bound of 2 s was reached by a 0.3 s pause on a
	// machine loaded with other tests' -race runs.)
	text := make([]byte, 15000)
	rand.Read(text)
	img, err := mutate.AppendLayers(baseImage(t, "amd64"), tarLayer(t, map[string]string{"usr/share/noise": string(text)}))
	if err != nil {
		t.Fatal(err)
	}
	from := hostileRegistry(t, img, slow)
	to := hostileRegistry(t, nil, slow)
	base := mustRef(t, "docker://"+strings.TrimPrefix(from.URL, "http://")+"/base:latest")
	out := mustRef(t, "docker://"+strings.TrimPrefix(to.URL, "http://")+"/app:dev")
	start := time.Now()
	slowRemote := Remote{Keychain: authn.NewMultiKeychain(), timeouts: regtransport.Shortened(slowBound, slowBound)}
	if _, err := Bake(context.Background(), request(t, s, base, out, "linux/amd64"), WithRemote(slowRemote)); err != nil {
		t.Fatalf("a slow registry's bake failed after %v: %v", time.Since(start), err)
	}
	src, err := Open(context.Background(), out, Remote{})
	if err != nil {
		t.Fatal(err)
	}
	ls, err := src.Image.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) < 3 {
		t.Errorf("the baked image has %d layers, want the base's three and more", len(ls))
	}
	t.Logf("baked through two slow registries in %v", time.Since(start))
}
