package registrycache_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/larder-build/larder/images/registrycache"
	"github.com/larder-build/larder/internal/regtransport"
	"github.com/larder-build/larder/internal/slowtest"
)

// slowBound is the answer and idle bound of the tests of a registry, or
// a source, that pauses but must not be cut for it (or not by the idle
// bound): roomy against their pauses of at most 0.3 s, which a loaded
// machine can stretch by hundreds of milliseconds.
const slowBound = 2 * time.Second

// hostileRegistry serves h on 127.0.0.1 as a registry would be reached,
// and opens a cache of its repository "c" with short timeouts (bound for
// the answer and idle, reach). Handlers that hang return when the test
// ends.
func hostileRegistry(t *testing.T, bound, reach time.Duration, h func(stop <-chan struct{}) http.Handler) *registrycache.Cache {
	t.Helper()
	stop := make(chan struct{})
	srv := httptest.NewServer(h(stop))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) })
	c, err := registrycache.Open(context.Background(), "docker://"+strings.TrimPrefix(srv.URL, "http://")+"/c",
		registrycache.WithKeychain(authn.NewMultiKeychain()),
		registrycache.WithTimeouts(bound, bound, reach))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// pingOK answers the ping, without a challenge.
func pingOK(mux *http.ServeMux) {
	mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/" {
			http.NotFound(w, r)
		}
	})
}

const someSum = "0000000000000000000000000000000000000000000000000000000000000000"

// hasSome asks whether the registry holds someSum.
func hasSome(ctx context.Context, c *registrycache.Cache) error {
	_, err := c.Has(ctx, someSum)
	return err
}

// listServed lists the files of every wheelhouse the registry holds (it
// reads the tag list first).
func listServed(ctx context.Context, c *registrycache.Cache) error {
	_, err := c.Served().Files(ctx)
	return err
}

// readBlob gets someSum and reads it whole.
func readBlob(ctx context.Context, c *registrycache.Cache) error {
	rc, _, err := c.Get(ctx, someSum)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	return err
}

// hostileUploads answers a blob's HEAD (absent) and the start of its
// upload, and sends its bytes (PATCH or PUT) to patch.
func hostileUploads(mux *http.ServeMux, patch http.HandlerFunc) {
	mux.HandleFunc("/v2/c/blobs/", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	mux.HandleFunc("POST /v2/c/blobs/uploads/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "/v2/c/blobs/uploads/1")
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("PATCH /v2/c/blobs/uploads/1", patch)
	mux.HandleFunc("PUT /v2/c/blobs/uploads/1", patch)
}

// flood writes a JSON document that never closes: prefix, then item again
// and again, 200 MB in all (twice what go-containerregistry reads of a
// manifest), or until the client hangs up.
func flood(w io.Writer, prefix, item string) {
	if _, err := io.WriteString(w, prefix); err != nil {
		return
	}
	chunk := []byte(strings.Repeat(item, 1000))
	for range 200 << 20 / len(chunk) {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

// zeros is an endless reader of zeros.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// pushBig uploads 64 MiB, more than the socket buffers hold.
func pushBig(ctx context.Context, c *registrycache.Cache) error {
	return c.Put(ctx, someSum, 64<<20, io.LimitReader(zeros{}, 64<<20))
}

// TestAHostileRegistryCannotHangACache: every request, the ping and the
// token exchange included, gets an answer in time and a byte of its body
// in time, whatever the registry does, and a caller that gives up is not
// kept waiting by another's ping.
func TestAHostileRegistryCannotHangACache(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		bound  time.Duration // the answer and idle bound (1 s when 0)
		reach  time.Duration
		wait   time.Duration // how long the caller waits at most
		serve  func(stop <-chan struct{}, mux *http.ServeMux, url func() string)
		call   func(ctx context.Context, c *registrycache.Cache) error
		within time.Duration
		want   string
	}{
		{
			name: "a ping that never answers", reach: 30 * time.Second, wait: time.Minute,
			serve: func(stop <-chan struct{}, mux *http.ServeMux, _ func() string) {
				mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) { slowtest.Hang(stop, r) })
			},
			call:   hasSome,
			within: 5 * time.Second, want: "no answer from the registry in 1s",
		},
		{
			// The ping is bounded at 10 s, not 1 s, so that the caller's
			// return well within it (5 s) shows it was not kept waiting,
			// however slow a loaded machine is to run it.
			name: "a caller that gives up while the ping hangs", bound: 10 * time.Second, reach: time.Minute, wait: 500 * time.Millisecond,
			serve: func(stop <-chan struct{}, mux *http.ServeMux, _ func() string) {
				mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) { slowtest.Hang(stop, r) })
			},
			call:   hasSome,
			within: 5 * time.Second, want: "context deadline exceeded",
		},
		{
			name: "a token endpoint that hangs", reach: 2 * time.Second, wait: time.Minute,
			serve: func(stop <-chan struct{}, mux *http.ServeMux, url func() string) {
				mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s/token",service="x"`, url()))
					w.WriteHeader(http.StatusUnauthorized)
				})
				mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) { slowtest.Hang(stop, r) })
			},
			call:   hasSome,
			within: 5 * time.Second, want: "no answer from the registry in 1s",
		},
		{
			name: "a blob that never answers", reach: 30 * time.Second, wait: time.Minute,
			serve: func(stop <-chan struct{}, mux *http.ServeMux, _ func() string) {
				pingOK(mux)
				mux.HandleFunc("/v2/c/blobs/", func(w http.ResponseWriter, r *http.Request) { slowtest.Hang(stop, r) })
			},
			call: readBlob, within: 5 * time.Second, want: "no answer from the registry in 1s",
		},
		{
			name: "a blob that trickles, then stalls", reach: 30 * time.Second, wait: time.Minute,
			serve: func(stop <-chan struct{}, mux *http.ServeMux, _ func() string) {
				pingOK(mux)
				mux.HandleFunc("/v2/c/blobs/", func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Length", "100000")
					for range 5 {
						w.Write(bytes.Repeat([]byte("x"), 4096))
						w.(http.Flusher).Flush()
						time.Sleep(300 * time.Millisecond)
					}
					slowtest.Hang(stop, r)
				})
			},
			call: readBlob, within: 5 * time.Second, want: "no byte of the answer from the registry in 1s",
		},
		{
			// Cut by the rate, which takes the idle bound to run out: the
			// bound is slowBound, so that no pause of 0.3 s, however a
			// loaded machine stretches it, is cut as idle first.
			name: "a blob that trickles a byte at a time, never idle", bound: slowBound, reach: 30 * time.Second, wait: time.Minute,
			serve: func(stop <-chan struct{}, mux *http.ServeMux, _ func() string) {
				pingOK(mux)
				mux.HandleFunc("/v2/c/blobs/", func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Length", "100000")
					for range 100000 {
						if !slowtest.Pause(stop, r, 300*time.Millisecond) {
							return
						}
						w.Write([]byte("x"))
						w.(http.Flusher).Flush()
					}
				})
			},
			call: readBlob, within: 10 * time.Second, want: "averages under 1024 bytes a second",
		},
		{
			name: "an upload the registry stops taking", reach: 30 * time.Second, wait: time.Minute,
			serve: func(stop <-chan struct{}, mux *http.ServeMux, _ func() string) {
				pingOK(mux)
				hostileUploads(mux, func(w http.ResponseWriter, r *http.Request) { slowtest.Hang(stop, r) })
			},
			call: pushBig, within: 5 * time.Second, want: "no byte of the upload taken by the registry in 1s",
		},
		{
			name: "an upload taken whole, never answered", reach: 30 * time.Second, wait: time.Minute,
			serve: func(stop <-chan struct{}, mux *http.ServeMux, _ func() string) {
				pingOK(mux)
				hostileUploads(mux, func(w http.ResponseWriter, r *http.Request) {
					io.Copy(io.Discard, r.Body)
					slowtest.Hang(stop, r)
				})
			},
			call: pushBig, within: 5 * time.Second, want: "no answer from the registry in 3.133s", // 1s, and the 4 MiB at most still in flight
		},
		{
			name: "a manifest that never ends", reach: 30 * time.Second, wait: time.Minute,
			serve: func(stop <-chan struct{}, mux *http.ServeMux, _ func() string) {
				pingOK(mux)
				mux.HandleFunc("/v2/c/manifests/", func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
					flood(w, `{"schemaVersion":2,"layers":[`, `{"mediaType":"x","size":1},`)
				})
			},
			call: func(ctx context.Context, c *registrycache.Cache) error {
				_, _, err := c.LookupBuild(ctx, someSum)
				var tl *registrycache.TooLargeError
				if err != nil && !errors.As(err, &tl) {
					return fmt.Errorf("not a TooLargeError: %w", err)
				}
				return err
			},
			within: 10 * time.Second, want: fmt.Sprintf("longer than the %d bytes", regtransport.MaxManifestBytes),
		},
		{
			name: "a tag list that never ends", reach: 30 * time.Second, wait: time.Minute,
			serve: func(stop <-chan struct{}, mux *http.ServeMux, _ func() string) {
				pingOK(mux)
				mux.HandleFunc("/v2/c/tags/list", func(w http.ResponseWriter, r *http.Request) {
					flood(w, `{"name":"c","tags":[`, `"sha256-`+someSum+`",`)
				})
			},
			call:   listServed,
			within: 10 * time.Second, want: fmt.Sprintf("longer than the %d bytes", regtransport.MaxTagPageBytes),
		},
		{
			name: "a tag list whose pages loop", reach: 30 * time.Second, wait: 20 * time.Second,
			serve: func(stop <-chan struct{}, mux *http.ServeMux, _ func() string) {
				pingOK(mux)
				mux.HandleFunc("/v2/c/tags/list", func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Link", `</v2/c/tags/list?n=1&last=a>; rel="next"`)
					w.Write([]byte(`{"name":"c","tags":["a"]}`))
				})
			},
			call:   listServed,
			within: 5 * time.Second, want: "pages loop back",
		},
		{
			name: "a tag list whose next page is on another host", reach: 30 * time.Second, wait: 20 * time.Second,
			serve: func(stop <-chan struct{}, mux *http.ServeMux, _ func() string) {
				pingOK(mux)
				mux.HandleFunc("/v2/c/tags/list", func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Link", `<http://127.0.0.2:1/v2/c/tags/list?n=1>; rel="next"`)
					w.Write([]byte(`{"name":"c","tags":["a"]}`))
				})
			},
			call:   listServed,
			within: 5 * time.Second, want: "does not match registry host",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Each its own registry and cache, waiting on its own clock.
			t.Parallel()
			var url string
			bound := tt.bound
			if bound == 0 {
				bound = time.Second
			}
			c := hostileRegistry(t, bound, tt.reach, func(stop <-chan struct{}) http.Handler {
				mux := http.NewServeMux()
				tt.serve(stop, mux, func() string { return url })
				return mux
			})
			url = "http://" + strings.TrimSuffix(strings.TrimPrefix(c.String(), "docker://"), "/c")
			ctx, cancel := context.WithTimeout(t.Context(), tt.wait)
			defer cancel()
			start := time.Now()
			err := tt.call(ctx, c)
			took := time.Since(start)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
			if took > tt.within {
				t.Errorf("took %v, want at most %v", took, tt.within)
			}
			t.Logf("%v: %v", took.Round(time.Millisecond), err)
		})
	}
}

// staticKeychain gives every registry the same login.
type staticKeychain struct{ user, pass string }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return authn.FromConfig(authn.AuthConfig{Username: k.user, Password: k.pass}), nil
}

// TestARegistryCannotSendABlobRequestOrItsCredentialsAnywhere: a blob's
// redirect is followed (registries send blobs to object storage), but
// the login goes only to the registry's own host, a loop ends, and
// neither file: nor plain HTTP off loopback is followed; a challenge
// cannot send the login in clear either.
func TestARegistryCannotSendABlobRequestOrItsCredentialsAnywhere(t *testing.T) {
	other := make(chan string, 100) // the Authorization headers the other host saw
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		other <- r.Header.Get("Authorization")
		w.Write([]byte("bytes from elsewhere"))
	}))
	t.Cleanup(elsewhere.Close)
	tests := []struct {
		name     string
		location string // where the blob is redirected, "" for the realm case
		realm    string // a Bearer realm instead of Basic
		want     string
		reached  bool // the other host is asked, without the login
	}{
		{name: "a redirect to another host", location: elsewhere.URL + "/blob", reached: true},
		{name: "a redirect to itself", location: "/v2/c/blobs/sha256:" + someSum, want: "stopped after 10 redirects"},
		{name: "a redirect to a file", location: "file:///etc/passwd", want: "unsupported protocol scheme"},
		{name: "a redirect in clear off loopback", location: "http://192.0.2.1/blob", want: "refusing plain HTTP to 192.0.2.1"},
		{name: "a token realm in clear off loopback", realm: "http://192.0.2.1/token", want: "refusing plain HTTP to 192.0.2.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
				if tt.realm != "" {
					w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q,service="x"`, tt.realm))
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				if u, p, ok := r.BasicAuth(); !ok || u != "me" || p != "secret" {
					w.Header().Set("WWW-Authenticate", `Basic realm="registry"`)
					w.WriteHeader(http.StatusUnauthorized)
				}
			})
			mux.HandleFunc("/v2/c/blobs/", func(w http.ResponseWriter, r *http.Request) {
				if u, _, ok := r.BasicAuth(); !ok || u != "me" {
					t.Errorf("the registry's own blob request came without the login")
				}
				http.Redirect(w, r, tt.location, http.StatusTemporaryRedirect)
			})
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			c, err := registrycache.Open(t.Context(), "docker://"+strings.TrimPrefix(srv.URL, "http://")+"/c",
				registrycache.WithKeychain(staticKeychain{"me", "secret"}), registrycache.WithTimeouts(5*time.Second, 5*time.Second, 5*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			rc, _, err := c.Get(ctx, someSum)
			if tt.reached {
				if err != nil {
					t.Fatalf("a redirect to object storage: %v", err)
				}
				b, _ := io.ReadAll(rc)
				rc.Close()
				if got := <-other; got != "" {
					t.Errorf("the other host got the login %q", got)
				}
				t.Logf("read %q from the other host, without the login", b)
				return
			}
			if err == nil {
				rc.Close()
				t.Fatalf("no error, want one saying %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
			t.Logf("%v", err)
		})
	}
}

// taggedManifest is a manifest pushed as it is.
type taggedManifest []byte

func (m taggedManifest) RawManifest() ([]byte, error) { return m, nil }
func (m taggedManifest) MediaType() (types.MediaType, error) {
	return types.OCIManifestSchema1, nil
}

// TestAWheelhouseManifestListsOnlyPlainNamesWithASize: a wheelhouse
// manifest in a real registry whose layers name files that climb out,
// are paths or hidden, or declare a negative size, is listed without
// them, the plain file of the same manifest kept. (A digest that is not
// lower-case hex is refused by the registry itself, and by
// go-containerregistry's parse if it came: the tag is passed over.)
func TestAWheelhouseManifestListsOnlyPlainNamesWithASize(t *testing.T) {
	ctx := t.Context()
	reg := startRegistry(t)
	c := openCache(t, reg)
	w, path, _ := uploadedWheel(t, "good", "1.0", 0)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := c.Put(ctx, w.SHA256, int64(len(w.Data)), f); err != nil {
		t.Fatal(err)
	}
	cfg := []byte("{}")
	cfgSum := fmt.Sprintf("%x", sha256.Sum256(cfg))
	if err := c.Put(ctx, cfgSum, 2, bytes.NewReader(cfg)); err != nil {
		t.Fatal(err)
	}
	layer := func(name string, size int64, digest string) string {
		return fmt.Sprintf(`{"mediaType":%q,"digest":"sha256:%s","size":%d,"annotations":{%q:%q,%q:"good",%q:"1.0"}}`,
			registrycache.MediaTypeFile, digest, size, registrycache.AnnotationFilename, name,
			registrycache.AnnotationProject, registrycache.AnnotationVersion)
	}
	manifest := func(layers ...string) taggedManifest {
		return taggedManifest(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"artifactType":%q,"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:%s","size":2},"layers":[%s]}`,
			types.OCIManifestSchema1, registrycache.ArtifactTypeWheelhouse, cfgSum, strings.Join(layers, ",")))
	}
	size := int64(len(w.Data))
	repo, err := name.NewRepository(reg.Host + "/larder/cache")
	if err != nil {
		t.Fatal(err)
	}
	push := func(tag string, m taggedManifest) {
		t.Helper()
		if err := remote.Put(repo.Tag(tag), m, remote.WithContext(ctx)); err != nil {
			t.Fatalf("pushing %s: %v", tag, err)
		}
	}
	push(registrycache.LockTag(strings.Repeat("1", 64)), manifest(
		layer("../../"+w.Filename, size, w.SHA256),
		layer("/etc/"+w.Filename, size, w.SHA256),
		layer("sub/"+w.Filename, size, w.SHA256),
		layer(".hidden-1.0-py3-none-any.whl", size, w.SHA256),
		layer("negative-1.0-py3-none-any.whl", -1, w.SHA256),
		layer(w.Filename, size, w.SHA256),
	))
	files, err := c.Served().Files(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range files {
		names = append(names, e.Filename)
	}
	if len(files) != 1 || files[0].Filename != w.Filename || files[0].SHA256 != w.SHA256 || files[0].Size != size {
		t.Errorf("listed %q, want only %s", names, w.Filename)
	}
}

// TestOnePingServesEveryCallerWaitingAndAFailureIsNotKept: callers that
// arrive while the ping is under way wait for that one; a ping that
// fails fails them, and the next request pings again instead of the
// failure being kept for the life of a server. The first ping fails
// once all 50 callers wait for it (or after 8 s, under a bound of
// 10 s), however late a loaded machine starts their goroutines.
func TestOnePingServesEveryCallerWaitingAndAFailureIsNotKept(t *testing.T) {
	var mu sync.Mutex
	pings := 0
	var waiting atomic.Int32
	allWaiting := make(chan struct{})
	c := hostileRegistry(t, 10*time.Second, 10*time.Second, func(stop <-chan struct{}) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/v2/" {
				http.NotFound(w, r)
				return
			}
			mu.Lock()
			pings++
			first := pings == 1
			mu.Unlock()
			if first {
				select {
				case <-allWaiting:
				case <-time.After(8 * time.Second):
					t.Errorf("%d of 50 callers waited for the first ping within 8 s", waiting.Load())
				}
				http.Error(w, "down for a moment", http.StatusServiceUnavailable)
			}
		})
		return mux
	})
	registrycache.OnTransportWait(c, func() {
		if waiting.Add(1) == 50 {
			close(allWaiting)
		}
	})
	count := func() int { mu.Lock(); defer mu.Unlock(); return pings }
	ask := func(n int) []error {
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { _, errs[i] = c.Has(t.Context(), someSum) })
		}
		wg.Wait()
		return errs
	}
	for i, err := range ask(50) {
		if err == nil || !strings.Contains(err.Error(), "503") {
			t.Fatalf("caller %d while the first ping fails: %v, want its 503", i, err)
		}
	}
	if n := count(); n != 1 {
		t.Errorf("%d pings for 50 callers at once, want 1", n)
	}
	for i, err := range ask(50) {
		if err != nil {
			t.Fatalf("caller %d once the registry is back: %v", i, err)
		}
	}
	if n := count(); n != 2 {
		t.Errorf("%d pings in all, want 2: the failure not kept, the success kept", n)
	}
}

// TestABlobOfARepositoryNamedManifestsIsNotBoundLikeAManifest: the
// bound on a manifest's size is for the manifests endpoint, not for any
// URL with "manifests" in it: a repository may have a component of
// that name, and its blobs are longer than a manifest may be.
func TestABlobOfARepositoryNamedManifestsIsNotBoundLikeAManifest(t *testing.T) {
	const size = regtransport.MaxManifestBytes + 1
	mux := http.NewServeMux()
	pingOK(mux)
	mux.HandleFunc("GET /v2/team/manifests/wheels/blobs/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		_, _ = io.Copy(w, io.LimitReader(zeros{}, size))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	const repo = "team/manifests/wheels"
	c, err := registrycache.Open(t.Context(), "docker://"+strings.TrimPrefix(srv.URL, "http://")+"/"+repo,
		registrycache.WithKeychain(authn.NewMultiKeychain()))
	if err != nil {
		t.Fatal(err)
	}
	rc, _, err := c.Get(t.Context(), someSum)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if n, err := io.Copy(io.Discard, rc); err != nil || n != size {
		t.Errorf("read %d bytes of a %d-byte blob: %v", n, size, err)
	}
}

// TestASlowRegistryThatKeepsProgressingIsNotCut: the idle bound is on
// time without a byte, not on the whole transfer: a blob sent, or an
// upload taken, a little at a time for longer than the bound completes,
// as long as it averages the watchdog's minimum rate (1 KiB/s). The
// bound is slowBound, 2 s, against pauses of 0.2 s and 0.15 s.
func TestASlowRegistryThatKeepsProgressingIsNotCut(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		serve func(mux *http.ServeMux)
		call  func(ctx context.Context, c *registrycache.Cache) error
	}{
		{
			name: "a blob sent 2 KiB every 200 ms for 4 s",
			serve: func(mux *http.ServeMux) {
				mux.HandleFunc("/v2/c/blobs/", func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Length", "40960")
					for range 20 {
						time.Sleep(200 * time.Millisecond)
						w.Write(bytes.Repeat([]byte("x"), 2048))
						w.(http.Flusher).Flush()
					}
				})
			},
			call: readBlob,
		},
		{
			name: "an upload taken 1 MiB every 150 ms for 4 s",
			serve: func(mux *http.ServeMux) {
				hostileUploads(mux, func(w http.ResponseWriter, r *http.Request) {
					buf := make([]byte, 1<<20)
					for {
						if _, err := io.ReadFull(r.Body, buf); err != nil {
							break
						}
						time.Sleep(150 * time.Millisecond)
					}
					if r.Method == http.MethodPatch {
						w.Header().Set("Location", "/v2/c/blobs/uploads/1")
						w.WriteHeader(http.StatusAccepted)
						return
					}
					w.WriteHeader(http.StatusCreated)
				})
			},
			call: func(ctx context.Context, c *registrycache.Cache) error {
				return c.Put(ctx, someSum, 28<<20, io.LimitReader(zeros{}, 28<<20))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := hostileRegistry(t, slowBound, 30*time.Second, func(<-chan struct{}) http.Handler {
				mux := http.NewServeMux()
				pingOK(mux)
				tt.serve(mux)
				return mux
			})
			start := time.Now()
			if err := tt.call(t.Context(), c); err != nil {
				t.Fatalf("after %v: %v", time.Since(start).Round(time.Millisecond), err)
			}
			if took := time.Since(start); took < slowBound*3/2 {
				t.Fatalf("took %v: the test means a transfer longer than the %v idle bound", took, slowBound)
			}
		})
	}
}
