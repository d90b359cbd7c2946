package registrycache_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/images/registrycache"
	"github.com/larder-build/larder/internal/gittest"
	"github.com/larder-build/larder/internal/locktest"
	"github.com/larder-build/larder/internal/piptest"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/resolver"
	"github.com/larder-build/larder/resolver/pylock"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/build"
	"github.com/larder-build/larder/wheelhouse/fetch"
)

// lockWithBuilds locks a git fork and a package published as an sdist
// only, both of which a fetch must build, with the real resolver.
func lockWithBuilds(t *testing.T) (*pypitest.Server, *gittest.Repo, *pylock.Lock) {
	t.Helper()
	r, _ := locktest.ForkRepo(t, "lib>=1", "srconly")
	srv := pypitest.Start(t, &pypitest.Index{Projects: []pypitest.Project{
		{Name: "lib", Releases: []pypitest.Release{pure("1.2")}},
		{Name: "srconly", Releases: []pypitest.Release{{Version: "0.5", Sdist: true}}},
	}})
	roots := locktest.Roots(t, "edx-private-fork")
	roots[0].VCS = &resolver.VCS{URL: r.URL(), Rev: "v3.1.4"}
	lock := locktest.Lock(t, srv.URL(), roots, amd64)
	srv.Reset()
	return srv, r, lock
}

// TestForksAndSdistsAreBuiltOnceForEveryMachine: machine A builds a git
// fork and an sdist and pushes them under their build keys; machine B,
// with no builder at all, the index stopped and the git repository gone,
// gets the whole closure from the registry, and pip installs it offline.
func TestForksAndSdistsAreBuiltOnceForEveryMachine(t *testing.T) {
	testenv.Slow(t, "builds sdists and a fork with python3 for two machines")
	for _, how := range []string{"fetch --push", "push"} {
		t.Run(how, func(t *testing.T) { testBuiltOnce(t, how == "fetch --push") })
	}
}

func testBuiltOnce(t *testing.T, fetchPushes bool) {
	reg := startRegistry(t)
	srv, repo, lock := lockWithBuilds(t)
	a := newMachine(t)
	host, err := build.NewHost(build.WithPython("/usr/bin/python3"), build.WithCacheDir(t.TempDir()),
		build.WithFindLinks(filepath.Join(a.store.Dir(), wheelhouse.FilesDir)))
	if err != nil {
		t.Skipf("Debian's python3 with setuptools and wheel is needed to build: %v", err)
	}
	const builder = "host /usr/bin/python3"
	repA, err := fetch.Fetch(context.Background(), a.store, lock, fetch.WithBuilder(host), fetch.WithCacheDir(a.cacheDir),
		fetch.WithCache(openCache(t, reg), fetchPushes), fetch.WithBuilderIdentity(builder))
	if err != nil {
		t.Fatalf("machine A: %v", err)
	}
	if repA.Built != 2 || len(repA.Warnings) != 0 {
		t.Fatalf("machine A: %+v, want 2 builds", repA)
	}
	if fetchPushes && repA.Pushed != repA.Downloaded+2 {
		t.Fatalf("machine A: %+v, want everything pushed", repA)
	}
	if !fetchPushes {
		rep, err := registrycache.PushWheelhouse(context.Background(), openCache(t, reg), a.store, lockSum(t, lock), registrycache.WithJobs(4), registrycache.WithBuildRecords(builder))
		if err != nil || rep.Builds != 2 || rep.Uploaded != rep.Blobs {
			t.Fatalf("push: %+v %v, want every blob and 2 build records", rep, err)
		}
	}

	srv.Close()
	srv.Reset()
	if err := os.RemoveAll(repo.Dir); err != nil {
		t.Fatal(err)
	}
	b := newMachine(t)
	repB, err := fetch.Fetch(context.Background(), b.store, lock, fetch.WithCacheDir(b.cacheDir),
		fetch.WithCache(openCache(t, reg), false), fetch.WithBuilderIdentity(builder))
	if err != nil {
		t.Fatalf("machine B: %v (%+v)", err, repB)
	}
	if repB.Built != 0 || repB.BuildsSaved != 2 || repB.Downloaded != 0 || repB.FromCache != repA.Files || len(repB.Warnings) != 0 {
		t.Fatalf("machine B: %+v, want all %d files from the registry, the 2 builds among them", repB, repA.Files)
	}
	if n := len(srv.Counts()); n != 0 {
		t.Fatalf("machine B asked the index %d times", n)
	}
	mustVerifyClean(t, b.store, lock)
	for _, e := range b.store.Entries() {
		if e.Project == "edx-private-fork" && (!e.Private || e.Origin.Kind != wheelhouse.OriginVCS) {
			t.Fatalf("the fork from the cache: %+v, want a private VCS build", e)
		}
	}

	// Another builder does not take A's wheels.
	c := newMachine(t)
	repC, err := fetch.Fetch(context.Background(), c.store, lock, fetch.WithCacheDir(c.cacheDir),
		fetch.WithCache(openCache(t, reg), false), fetch.WithBuilderIdentity("buildkit debian:12"))
	if err == nil || repC.BuildsSaved != 0 || len(repC.NeedsBuilder) != 2 {
		t.Fatalf("another builder: %v %+v, want both builds left to it", err, repC)
	}

	home := t.TempDir()
	site := filepath.Join(home, "site")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pip := exec.CommandContext(ctx, "python3", "-m", "pip", "install", "--no-compile", "--no-index", "--find-links",
		filepath.Join(b.store.Dir(), wheelhouse.FilesDir), "--target", site, "edx-private-fork")
	pip.Env = piptest.Env(home)
	if out, err := pip.CombinedOutput(); err != nil {
		t.Fatalf("pip install on machine B: %v\n%s", err, out)
	}
	imp := exec.CommandContext(ctx, "python3", "-c", "import edx_private_fork, lib, srconly; print(edx_private_fork.VERSION)")
	imp.Env = append(piptest.Env(home), "PYTHONPATH="+site)
	if got, err := imp.CombinedOutput(); err != nil || strings.TrimSpace(string(got)) != "fork" {
		t.Fatalf("import after install: %v %s", err, got)
	}
}
