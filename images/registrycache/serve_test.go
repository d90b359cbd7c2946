package registrycache_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/images/registrycache"
	"github.com/larder-build/larder/internal/dockerregistry"
	"github.com/larder-build/larder/internal/piptest"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/wheelhousetest"
	"github.com/larder-build/larder/resolver/pylock"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/serve"
)

// startReplica serves an empty wheelhouse of its own from the registry's
// wheelhouses, with upstream as the (absent) index to fall through to,
// and returns its simple index URL.
func startReplica(t *testing.T, c *registrycache.Cache, upstream string, tags ...string) string {
	t.Helper()
	return serve.IndexURL(serveReplica(t, nil, serve.WithCache(c.Served(tags...)), serve.WithUpstream(upstream), serve.WithCacheDir(t.TempDir())))
}

// serveReplica serves store with opts on a loopback port until the test
// ends, and returns its address.
func serveReplica(t *testing.T, store *wheelhouse.Store, opts ...serve.Option) string {
	t.Helper()
	s, err := serve.New(store, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wheelhousetest.Serve(t, ln, s.Serve)
	return ln.Addr().String()
}

// pushedWheelhouse starts a registry and locks the closure; a first
// machine fetches it from the index, then pushes its wheelhouse to the
// registry with opts.
func pushedWheelhouse(t *testing.T, opts ...registrycache.PushOption) (*dockerregistry.Registry, *pypitest.Server, *pylock.Lock) {
	t.Helper()
	reg := startRegistry(t)
	srv, lock := lockIndex(t, closure(), "app")
	a := newMachine(t)
	a.fetch(t, lock, openCache(t, reg), false)
	if _, err := registrycache.PushWheelhouse(context.Background(), openCache(t, reg), a.store, lockSum(t, lock), opts...); err != nil {
		t.Fatalf("push: %v", err)
	}
	return reg, srv, lock
}

// TestServeReplicasShareOneRegistryWithTheUpstreamAbsent: machine A
// fetches and pushes its wheelhouse; two index servers, each with its own
// empty wheelhouse and the index stopped, serve the whole closure from
// the registry, and the real pip installs it through each, the second
// server never having fetched anything itself.
func TestServeReplicasShareOneRegistryWithTheUpstreamAbsent(t *testing.T) {
	pip := piptest.New(t, "python3")
	reg, srv, lock := pushedWheelhouse(t, registrycache.WithTags("main"))
	srv.Close()
	srv.Reset()

	for _, tc := range []struct {
		name string
		tags []string
	}{
		{"every lock tag", nil},
		{"the tag named", []string{"main"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range 2 {
				url := startReplica(t, openCache(t, reg), srv.URL(), tc.tags...)
				target := filepath.Join(t.TempDir(), "site")
				out, err := pip.Install(url, target, "app")
				if err != nil {
					t.Fatalf("replica %d: pip install app: %v\n%s", i+1, err, out)
				}
				for _, p := range lock.Packages {
					if !installed(t, target, p.Name, p.Version) {
						t.Fatalf("replica %d: %s %s not installed; pip said:\n%s", i+1, p.Name, p.Version, out)
					}
				}
			}
			if n := len(srv.Counts()); n != 0 {
				t.Fatalf("the replicas sent %d requests to the index: %v", n, srv.Counts())
			}
		})
	}
}

// installed reports whether pip --target put a project's dist-info there.
func installed(t *testing.T, dir, project, version string) bool {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.dist-info"))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll(project, "-", "_") + "-" + version + ".dist-info"
	for _, p := range m {
		if strings.EqualFold(filepath.Base(p), want) {
			return true
		}
	}
	return false
}

// TestAServedRegistryFileWithOtherBytesIsCutBeforeItsEnd: a blob whose
// bytes in the registry's storage are not its digest's reaches the client
// short of its last bytes, never whole.
func TestAServedRegistryFileWithOtherBytesIsCutBeforeItsEnd(t *testing.T) {
	reg, srv, lock := pushedWheelhouse(t)
	srv.Close()

	victim, size := corruptBigPkg(t, reg, lock, func(size int) int { return size - 1 })

	url := startReplica(t, openCache(t, reg), srv.URL())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(url, "simple/")+"files/"+victim.FileName(), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("status %s, read %d of %d bytes, err %v: want the download cut", resp.Status, len(got), size, err)
	}
	if len(got) >= size {
		t.Fatalf("read %d of %d bytes before the cut, want fewer", len(got), size)
	}
}

// TestAPrivateProjectOfTheRegistryNeverFallsThrough: a project the
// registry's wheelhouse marks private is listed from the registry alone,
// though the upstream, which is up, lists other versions of it.
func TestAPrivateProjectOfTheRegistryNeverFallsThrough(t *testing.T) {
	reg := startRegistry(t)
	srv, lock := lockIndex(t, closure(), "app")
	a := newMachine(t)
	a.fetch(t, lock, openCache(t, reg), false)
	for _, e := range a.store.Entries() {
		if e.Project == "lib" {
			e.Private = true
			if err := a.store.Put(e); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := a.store.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := registrycache.PushWheelhouse(context.Background(), openCache(t, reg), a.store, lockSum(t, lock)); err != nil {
		t.Fatalf("push: %v", err)
	}
	srv.Reset()

	url := startReplica(t, openCache(t, reg), srv.URL())
	for _, tc := range []struct {
		project     string
		want, never string
	}{
		{"lib", pypitest.WheelFilename("lib", "2.0", "py3-none-any"), pypitest.WheelFilename("lib", "1.0", "py3-none-any")},
	} {
		resp, err := http.Get(url + tc.project + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s, %v", tc.project, resp.Status, err)
		}
		if !strings.Contains(string(body), tc.want) || strings.Contains(string(body), tc.never) {
			t.Fatalf("%s's page lists %q, want %s and never the upstream's %s", tc.project, body, tc.want, tc.never)
		}
	}
	for path := range srv.Counts() {
		if strings.Contains(path, "lib") {
			t.Fatalf("the upstream was asked %s for a private project", path)
		}
	}
}
