package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/dockerregistry"
	"github.com/larder-build/larder/internal/pypitest"
)

// registryCache starts a real docker-registry for the test and returns it
// with a shared cache in it, as [cache] registry names one.
func registryCache(t *testing.T) (*dockerregistry.Registry, string) {
	t.Helper()
	reg := dockerregistry.ForTest(t)
	return reg, "docker://" + reg.Host + "/acme/larder"
}

// TestPushThenFetchOnAFreshMachineFromTheRegistryAlone: machine A locks,
// fetches and pushes to a real docker-registry (a second push uploads
// nothing); machine B, with its own user cache, the lock alone and the
// index stopped, fetches the closure from the registry, and verify
// passes.
func TestPushThenFetchOnAFreshMachineFromTheRegistryAlone(t *testing.T) {
	reg, cache := registryCache(t)
	srv := pypitest.Start(t, smallIndex())
	conf := "[wheelhouse]\ndir = \"wh\"\n[[target]]\nplatform = \"linux/amd64\"\npython = \"3.11\"\n[cache]\nregistry = \"" + cache + "\"\n"
	a := newProject(t, srv, "web\nfast\n", conf)
	mustRun(t, a, []string{"lock"}, []string{"fetch"})

	push := func() pushSummary {
		t.Helper()
		var s pushSummary
		runJSON(t, a, &s, "push", "--json", "--tag", "main")
		return s
	}
	first := push()
	if first.Blobs != 8 || first.Uploaded != 8 {
		t.Fatalf("first push: %+v, want 4 files and their metadata uploaded", first.PushReport)
	}
	blobs := len(reg.Blobs())
	second := push()
	if second.Uploaded != 0 || len(reg.Blobs()) != blobs || second.Manifest != first.Manifest {
		t.Fatalf("second push: %+v, registry %d -> %d blobs; want nothing uploaded", second.PushReport, blobs, len(reg.Blobs()))
	}

	srv.Close()
	srv.Reset()
	b := newProject(t, srv, "", conf) // its own XDG_CACHE_HOME
	lock, err := os.ReadFile(filepath.Join(a, "pylock.toml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, b, map[string]string{"pylock.toml": string(lock)})
	var sum fetchSummary
	out := runJSON(t, b, &sum, "fetch", "--json")
	if sum.FromCache != 4 || sum.Downloaded != 0 || sum.Linked != 0 || len(sum.Warnings) != 0 {
		t.Fatalf("fetch on B: %s, want all 4 files from the registry", out)
	}
	if n := len(srv.Counts()); n != 0 {
		t.Fatalf("B asked the index %d times: %v", n, srv.Counts())
	}
	mustRun(t, b, []string{"verify"})
}

func TestPushAndFetchRejectAMalformedCache(t *testing.T) {
	srv := pypitest.Start(t, smallIndex())
	dir := newProject(t, srv, "web\n", "")
	mustRun(t, dir, []string{"lock"})
	for _, args := range [][]string{
		{"push", "--cache", "ghcr.io/acme/larder"},
		{"push"},
		{"fetch", "--cache", "docker://ghcr.io/acme/larder:main"},
		{"fetch", "--push"},
	} {
		code, _, stderr := run(t, dir, args...)
		if code != 2 || !strings.Contains(stderr, "cache") {
			t.Errorf("larder %s: exit %d, %s; want a usage error about the cache", strings.Join(args, " "), code, stderr)
		}
	}
}

// TestALayoutCacheInLarderTomlIsRelativeToIt: [cache] registry =
// "oci:shared" is the folder beside larder.toml, wherever larder runs.
func TestALayoutCacheInLarderTomlIsRelativeToIt(t *testing.T) {
	srv := pypitest.Start(t, smallIndex())
	dir := newProject(t, srv, "web\n", "[wheelhouse]\ndir = \"wh\"\n[cache]\nregistry = \"oci:shared\"\npush = true\n")
	mustRun(t, dir, []string{"lock"})
	elsewhere := t.TempDir()
	conf := filepath.Join(dir, "larder.toml")
	mustRun(t, elsewhere, []string{"--config", conf, "fetch"}, []string{"--config", conf, "push"})
	if _, err := os.Stat(filepath.Join(dir, "shared", "index.json")); err != nil {
		t.Fatalf("the layout is not beside larder.toml: %v", err)
	}
	if _, err := os.Stat(filepath.Join(elsewhere, "shared")); err == nil {
		t.Fatal("a layout was made in the working folder")
	}
}
