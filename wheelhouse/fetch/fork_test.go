package fetch

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/locktest"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/resolver"
	"github.com/larder-build/larder/wheelhouse"
)

// TestForkIsLockedBuiltStoredPrivateAndInstalledByPip is the fork's whole
// way: locked from a git requirement by the real resolver (pinned to the
// tag's commit), fetched with the real host builder into a private wheel,
// and installed offline by the real pip with its index dependency.
func TestForkIsLockedBuiltStoredPrivateAndInstalledByPip(t *testing.T) {
	testenv.Slow(t, "runs git, a build and pip")
	repo, commit := locktest.ForkRepo(t, "lib>=1")
	url := repo.URL()
	srv := pypitest.Start(t, &pypitest.Index{Projects: []pypitest.Project{
		{Name: "lib", Releases: []pypitest.Release{pure("1.2")}},
		// A public upload under the fork's name must never be chosen.
		{Name: "edx-private-fork", Releases: []pypitest.Release{pure("99.0")}},
	}})
	roots := locktest.Roots(t, "edx-private-fork")
	roots[0].VCS = &resolver.VCS{URL: url, Rev: "v3.1.4"}
	lock := locktest.Lock(t, srv.URL(), roots, amd64)
	s := newStore(t)
	builder := hostBuilder(t, filepath.Join(s.Dir(), wheelhouse.FilesDir))
	if builder == nil {
		t.Skip("Debian's python3 with setuptools and wheel is needed to build the fork")
	}
	rep, err := Fetch(context.Background(), s, lock, WithBuilder(builder), WithCacheDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Built != 1 {
		t.Errorf("built %d wheels, want the fork's", rep.Built)
	}
	var forkEntry wheelhouse.Entry
	for _, e := range s.Entries() {
		if e.Project == "edx-private-fork" {
			forkEntry = e
		}
	}
	if !forkEntry.Private || forkEntry.Origin.Kind != wheelhouse.OriginVCS || forkEntry.Origin.Commit != commit || forkEntry.Version != "3.1.4+larder" {
		t.Fatalf("fork entry %+v, want a private VCS build of %s", forkEntry, commit)
	}
	mustVerifyClean(t, s, lock)
	srv.Close() // offline from here on
	home := t.TempDir()
	site := filepath.Join(home, "site")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := runPip(ctx, "python3", home, "install", "--no-compile", "--no-index", "--find-links",
		filepath.Join(s.Dir(), wheelhouse.FilesDir), "--target", site, "edx-private-fork")
	if err != nil {
		t.Fatalf("pip install: %v\n%s", err, out)
	}
	imp := exec.Command("python3", "-c", "import edx_private_fork, lib; print(edx_private_fork.VERSION)")
	imp.Env = append(os.Environ(), "PYTHONPATH="+site)
	got, err := imp.CombinedOutput()
	if err != nil || strings.TrimSpace(string(got)) != "fork" {
		t.Errorf("import after install: %v %s", err, got)
	}
}
