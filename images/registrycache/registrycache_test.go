package registrycache_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/larder-build/larder/images/registrycache"
	"github.com/larder-build/larder/internal/dockerregistry"
	"github.com/larder-build/larder/internal/locktest"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/resolver/pylock"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/fetch"
)

const amd64 = "linux/amd64:3.11:glibc2.36"

func pure(version string, requires ...string) pypitest.Release {
	return pypitest.Release{Version: version, Requires: requires, Wheels: []pypitest.Wheel{{Tags: "py3-none-any"}}}
}

// closure is a small lock's index: pure wheels, a platform wheel and one
// large enough to take several reads.
func closure() *pypitest.Index {
	return &pypitest.Index{Projects: []pypitest.Project{
		{Name: "app", Releases: []pypitest.Release{pure("1.0", "lib>=1", "fast", "Big_Pkg")}},
		{Name: "lib", Releases: []pypitest.Release{pure("1.0"), pure("2.0")}},
		{Name: "fast", Releases: []pypitest.Release{{Version: "1.0", Wheels: []pypitest.Wheel{
			{Tags: "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"},
		}}}},
		{Name: "Big_Pkg", Releases: []pypitest.Release{{Version: "3.0", Wheels: []pypitest.Wheel{{Tags: "py3-none-any", Size: 700 << 10}}}}},
	}}
}

// lockIndex serves idx and locks roots with the real resolver.
func lockIndex(t *testing.T, idx *pypitest.Index, roots ...string) (*pypitest.Server, *pylock.Lock) {
	t.Helper()
	srv := pypitest.Start(t, idx)
	lock := locktest.Lock(t, srv.URL(), locktest.Roots(t, roots...), amd64)
	srv.Reset()
	return srv, lock
}

func startRegistry(t *testing.T) *dockerregistry.Registry {
	t.Helper()
	return dockerregistry.ForTest(t)
}

// machine is one computer: its own wheelhouse and user cache folder.
type machine struct {
	store    *wheelhouse.Store
	cacheDir string
}

func newMachine(t *testing.T) *machine {
	t.Helper()
	dir := t.TempDir()
	s, err := wheelhouse.Create(filepath.Join(dir, "wheelhouse"))
	if err != nil {
		t.Fatal(err)
	}
	return &machine{store: s, cacheDir: filepath.Join(dir, "cache")}
}

func (m *machine) fetch(t *testing.T, lock *pylock.Lock, c *registrycache.Cache, push bool) *fetch.Report {
	t.Helper()
	rep, err := fetch.Fetch(context.Background(), m.store, lock,
		fetch.WithCacheDir(m.cacheDir), fetch.WithCache(c, push), fetch.WithRetries(0))
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	return rep
}

func mustVerifyClean(t *testing.T, s *wheelhouse.Store, l *pylock.Lock) {
	t.Helper()
	s2, err := wheelhouse.Open(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	r, err := fetch.Verify(context.Background(), s2, l)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems) > 0 {
		t.Fatalf("verify found problems: %+v", r.Problems)
	}
}

func openCache(t *testing.T, r *dockerregistry.Registry) *registrycache.Cache {
	t.Helper()
	c, err := registrycache.Open(context.Background(), "docker://"+r.Host+"/larder/cache")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// pushedRegistry starts a registry and locks the closure; a first
// machine fetches it from the index and pushes every file to the
// registry, whose cache it returns too.
func pushedRegistry(t *testing.T) (*dockerregistry.Registry, *pypitest.Server, *pylock.Lock, *registrycache.Cache) {
	t.Helper()
	reg := startRegistry(t)
	srv, lock := lockIndex(t, closure(), "app")
	c := openCache(t, reg)
	newMachine(t).fetch(t, lock, c, true)
	return reg, srv, lock, c
}

// corruptBigPkg flips the byte at at(size) of big-pkg's wheel in the
// registry's storage, keeping its size, and returns the wheel and the
// size.
func corruptBigPkg(t *testing.T, reg *dockerregistry.Registry, lock *pylock.Lock, at func(size int) int) (pylock.File, int) {
	t.Helper()
	var victim pylock.File
	for _, p := range lock.Packages {
		if p.Name == "big-pkg" {
			victim = p.Wheels[0]
		}
	}
	sum := victim.Hashes["sha256"]
	data := filepath.Join(reg.Storage, "docker/registry/v2/blobs/sha256", sum[:2], sum, "data")
	b, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	b[at(len(b))] ^= 0xff
	if err := os.WriteFile(data, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return victim, len(b)
}

func lockSum(t *testing.T, l *pylock.Lock) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pylock.toml")
	if err := pylock.WriteFile(p, l); err != nil {
		t.Fatal(err)
	}
	sum, _, err := wheelhouse.HashFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// TestAFreshMachineFetchesTheClosureFromTheRegistryAlone: machine A
// fetches from the index and pushes; machine B, with an empty user cache
// and the index stopped, gets every file from the registry, verified.
func TestAFreshMachineFetchesTheClosureFromTheRegistryAlone(t *testing.T) {
	reg := startRegistry(t)
	srv, lock := lockIndex(t, closure(), "app")
	c := openCache(t, reg)

	a := newMachine(t)
	repA := a.fetch(t, lock, c, false)
	if repA.Downloaded != repA.Files || repA.FromCache != 0 {
		t.Fatalf("machine A: %+v, want every file downloaded from the index", repA)
	}
	sum := lockSum(t, lock)
	before := len(reg.Blobs())
	push, err := registrycache.PushWheelhouse(context.Background(), c, a.store, sum, registrycache.WithTags("main"), registrycache.WithJobs(4))
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	// Every file, every wheel's metadata, the empty config and the manifest.
	if push.Uploaded != push.Blobs || push.Blobs != 2*repA.Files {
		t.Fatalf("first push: %+v, want all %d blobs (files and metadata) uploaded", push, 2*repA.Files)
	}
	if got := len(reg.Blobs()) - before; got != push.Blobs+2 {
		t.Fatalf("the registry gained %d blobs, want %d", got, push.Blobs+2)
	}
	afterFirst := reg.Blobs()

	again, err := registrycache.PushWheelhouse(context.Background(), c, a.store, sum, registrycache.WithTags("main"), registrycache.WithJobs(4))
	if err != nil {
		t.Fatalf("second push: %v", err)
	}
	if again.Uploaded != 0 || len(reg.Blobs()) != len(afterFirst) {
		t.Fatalf("second push uploaded %d blobs (registry %d -> %d), want 0", again.Uploaded, len(afterFirst), len(reg.Blobs()))
	}
	if again.Manifest != push.Manifest {
		t.Fatalf("the same wheelhouse gave manifest %s then %s", push.Manifest, again.Manifest)
	}

	srv.Close()
	srv.Reset()
	b := newMachine(t)
	repB := b.fetch(t, lock, openCache(t, reg), false)
	if repB.FromCache != repB.Files || repB.Downloaded != 0 || len(repB.Warnings) != 0 {
		t.Fatalf("machine B: %+v, want all %d files from the registry", repB, repB.Files)
	}
	if n := len(srv.Counts()); n != 0 {
		t.Fatalf("machine B sent %d requests to the index: %v", n, srv.Counts())
	}
	mustVerifyClean(t, b.store, lock)
}

// TestFetchWithPushFillsTheRegistryForTheNextMachine is the pull
// strategy: machine A's closure is in the cache; machine C fetches a
// lock with one more package with --push, taking A's files from the
// cache and pushing the new one; machine D, with no index, then gets
// C's whole closure from the cache.
func TestFetchWithPushFillsTheRegistryForTheNextMachine(t *testing.T) {
	reg, _, _, _ := pushedRegistry(t)

	idx := closure()
	idx.Projects = append(idx.Projects, pypitest.Project{Name: "extra", Releases: []pypitest.Release{pure("1.0")}})
	idx.Projects[0].Releases[0].Requires = append(idx.Projects[0].Releases[0].Requires, "extra")
	srv, lockC := lockIndex(t, idx, "app")
	repC := newMachine(t).fetch(t, lockC, openCache(t, reg), true)
	// app's own wheel changed too (it requires extra now): two new files.
	if repC.Downloaded != 2 || repC.Pushed != 2 || repC.FromCache != repC.Files-2 || len(repC.Warnings) != 0 {
		t.Fatalf("machine C: %+v, want A's files from the cache and the 2 new ones downloaded and pushed", repC)
	}
	srv.Close()
	srv.Reset()
	d := newMachine(t)
	repD := d.fetch(t, lockC, openCache(t, reg), false)
	if repD.FromCache != repD.Files || len(srv.Counts()) != 0 {
		t.Fatalf("machine D: %+v (index asked %v), want every file from the registry", repD, srv.Counts())
	}
	mustVerifyClean(t, d.store, lockC)
}

// TestACorruptBlobInTheRegistryIsRefused: bytes in the registry's
// storage that are not the lock's are reported with both digests, never
// kept, and the file comes from the index.
func TestACorruptBlobInTheRegistryIsRefused(t *testing.T) {
	reg, srv, lock, c := pushedRegistry(t)
	victim, _ := corruptBigPkg(t, reg, lock, func(size int) int { return size / 2 })
	sum := victim.Hashes["sha256"]

	srv.Reset()
	m := newMachine(t)
	rep := m.fetch(t, lock, c, false)
	if rep.Downloaded != 1 || rep.FromCache != rep.Files-1 {
		t.Fatalf("%+v, want the corrupt file alone downloaded from the index", rep)
	}
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], sum) || !strings.Contains(rep.Warnings[0], victim.Name) || !strings.Contains(rep.Warnings[0], "refused") {
		t.Fatalf("warnings %q, want one naming %s, the lock's sha256 and the registry's", rep.Warnings, victim.Name)
	}
	mustVerifyClean(t, m.store, lock)
}

// TestAStoppedRegistryCostsOneAttempt: the fetch reports it once and
// gets everything from the index.
func TestAStoppedRegistryCostsOneAttempt(t *testing.T) {
	reg := startRegistry(t)
	_, lock := lockIndex(t, closure(), "app")
	c := openCache(t, reg)
	reg.Stop()
	rep, err := fetch.Fetch(context.Background(), newMachine(t).store, lock, fetch.WithCache(c, true), fetch.WithJobs(1), fetch.WithRetries(0))
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if rep.Downloaded != rep.Files || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], reg.Host) {
		t.Fatalf("%+v, want every file from the index and one warning naming %s", rep, reg.Host)
	}
}

// TestTwoPushesAtOnceBothSucceedAndStoreEachBlobOnce.
func TestTwoPushesAtOnceBothSucceedAndStoreEachBlobOnce(t *testing.T) {
	reg := startRegistry(t)
	_, lock := lockIndex(t, closure(), "app")
	a := newMachine(t)
	rep := a.fetch(t, lock, openCache(t, reg), false)
	sum := lockSum(t, lock)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = registrycache.PushWheelhouse(context.Background(), openCache(t, reg), a.store, sum, registrycache.WithJobs(4))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
	}
	// Files, metadata, the empty config and one manifest.
	if got, want := len(reg.Blobs()), 2*rep.Files+2; got != want {
		t.Fatalf("the registry holds %d blobs, want %d", got, want)
	}
}

// TestARegistryStoppedMidFetchIsReportedOnceAndTheIndexTakesOver.
func TestARegistryStoppedMidFetchIsReportedOnceAndTheIndexTakesOver(t *testing.T) {
	reg, _, lock, _ := pushedRegistry(t)

	var once sync.Once
	m := newMachine(t)
	rep, err := fetch.Fetch(context.Background(), m.store, lock, fetch.WithCache(openCache(t, reg), false),
		fetch.WithJobs(1), fetch.WithRetries(0), fetch.WithCacheDir(m.cacheDir),
		fetch.WithProgress(func(e fetch.Event) {
			if e.State == fetch.Done && e.Via == fetch.ViaSharedCache {
				once.Do(reg.Stop)
			}
		}))
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if rep.FromCache != 1 || rep.Downloaded != rep.Files-1 || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], reg.Host) {
		t.Fatalf("%+v, want 1 file from the registry, the rest from the index, one warning naming %s", rep, reg.Host)
	}
	mustVerifyClean(t, m.store, lock)
}

// readOnly is a real registry behind a proxy that refuses writes, as a
// registry answers a credential without push rights.
func readOnly(t *testing.T, reg *dockerregistry.Registry) string {
	t.Helper()
	target, _ := url.Parse("http://" + reg.Host)
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestAReadOnlyCredentialReadsAndNeverFailsTheFetch: fetch --push with
// no push rights gets every file, and says once that it could not push;
// a push fails naming the registry's refusal.
func TestAReadOnlyCredentialReadsAndNeverFailsTheFetch(t *testing.T) {
	reg, _, lock, _ := pushedRegistry(t) // the cache holds the first closure
	ro, err := registrycache.Open(context.Background(), "docker://"+readOnly(t, reg)+"/larder/cache")
	if err != nil {
		t.Fatal(err)
	}
	m := newMachine(t)
	rep := m.fetch(t, lock, ro, true)
	if rep.FromCache != rep.Files || rep.Pushed != 0 {
		t.Fatalf("%+v, want every file read through the read-only credential", rep)
	}

	// A lock with one more package: its file is downloaded, and the
	// push of it is refused, once, without failing the fetch.
	idx := closure()
	idx.Projects = append(idx.Projects, pypitest.Project{Name: "extra", Releases: []pypitest.Release{pure("1.0")}})
	idx.Projects[0].Releases[0].Requires = append(idx.Projects[0].Releases[0].Requires, "extra")
	_, lock2 := lockIndex(t, idx, "app")
	m2 := newMachine(t)
	rep2 := m2.fetch(t, lock2, ro, true)
	if rep2.Downloaded == 0 || rep2.Pushed != 0 || len(rep2.Warnings) != 1 || !strings.Contains(rep2.Warnings[0], "DENIED") {
		t.Fatalf("%+v, want the new files downloaded and one warning saying the push was denied", rep2)
	}
	mustVerifyClean(t, m2.store, lock2)

	_, err = registrycache.PushWheelhouse(context.Background(), ro, m2.store, lockSum(t, lock2), registrycache.WithJobs(2))
	if err == nil || !strings.Contains(err.Error(), "DENIED") {
		t.Fatalf("push with a read-only credential: %v, want the registry's refusal", err)
	}
}

// TestALayoutOnDiskIsACacheToo: oci:DIR holds the same blobs and
// manifest, and a fresh machine fetches from it with the index stopped.
func TestALayoutOnDiskIsACacheToo(t *testing.T) {
	srv, lock := lockIndex(t, closure(), "app")
	dir := filepath.Join(t.TempDir(), "layout")
	c, err := registrycache.Open(context.Background(), "oci:"+dir)
	if err != nil {
		t.Fatal(err)
	}
	a := newMachine(t)
	a.fetch(t, lock, c, false)
	sum := lockSum(t, lock)
	first, err := registrycache.PushWheelhouse(context.Background(), c, a.store, sum, registrycache.WithTags("main"), registrycache.WithJobs(4))
	if err != nil {
		t.Fatal(err)
	}
	again, err := registrycache.PushWheelhouse(context.Background(), c, a.store, sum, registrycache.WithTags("main"), registrycache.WithJobs(4))
	if err != nil || again.Uploaded != 0 || first.Uploaded != first.Blobs {
		t.Fatalf("pushes %+v then %+v (%v), want everything then nothing", first, again, err)
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 2 || im.Manifests[0].ArtifactType != registrycache.ArtifactTypeWheelhouse {
		t.Fatalf("index.json lists %+v, want the wheelhouse tagged twice", im.Manifests)
	}
	srv.Close()
	b := newMachine(t)
	rep := b.fetch(t, lock, c, false)
	if rep.FromCache != rep.Files {
		t.Fatalf("%+v, want every file from the layout", rep)
	}
	mustVerifyClean(t, b.store, lock)
}

// TestALayoutCachesPlantedBlobsAreRefusedNotFollowed: a blob of an
// oci:DIR cache that is a link (to a file of the right bytes, even) or a
// named pipe is refused, naming it, and not waited on; Has does not
// take it for the blob, and Put replaces it.
func TestALayoutCachesPlantedBlobsAreRefusedNotFollowed(t *testing.T) {
	body := []byte("wheel bytes")
	h := sha256.Sum256(body)
	sum := hex.EncodeToString(h[:])
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, path string)
	}{
		{"a link", func(t *testing.T, path string) {
			target := filepath.Join(t.TempDir(), "elsewhere")
			if err := os.WriteFile(target, body, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
		}},
		{"a named pipe", func(t *testing.T, path string) {
			if err := syscall.Mkfifo(path, 0o666); err != nil {
				t.Skipf("no named pipes here: %v", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "layout")
			c, err := registrycache.Open(context.Background(), "oci:"+dir)
			if err != nil {
				t.Fatal(err)
			}
			blobs := filepath.Join(dir, "blobs", "sha256")
			if err := os.MkdirAll(blobs, 0o755); err != nil {
				t.Fatal(err)
			}
			tc.plant(t, filepath.Join(blobs, sum))
			done := make(chan error, 1)
			go func() {
				rc, _, err := c.Get(context.Background(), sum)
				if err == nil {
					rc.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), sum) {
					t.Errorf("reading %s planted as a blob: %v, want it refused by name", tc.name, err)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("reading %s planted as a blob: still waiting after 30 s", tc.name)
			}
			// Nor is it a blob to Has and Put: a Put replaces it.
			if has, err := c.Has(context.Background(), sum); has || err != nil {
				t.Errorf("Has with %s planted as the blob: %t, %v; want false", tc.name, has, err)
			}
			if err := c.Put(context.Background(), sum, int64(len(body)), bytes.NewReader(body)); err != nil {
				t.Fatalf("Put over %s planted as the blob: %v", tc.name, err)
			}
			rc, _, err := c.Get(context.Background(), sum)
			if err != nil {
				t.Fatalf("Get after a Put over %s: %v", tc.name, err)
			}
			defer rc.Close()
			if got, err := io.ReadAll(rc); err != nil || !bytes.Equal(got, body) {
				t.Errorf("Get after a Put over %s: %q, %v", tc.name, got, err)
			}
		})
	}
}
