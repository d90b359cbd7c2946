package build

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/gittest"
)

// forkRepo makes a git repository with a pyproject-based package in the
// subdirectory pkg, commits it twice (the version moves from 1.0 to 2.0)
// and returns its file:// URL and both commits.
func forkRepo(t *testing.T) (url, first, second string) {
	t.Helper()
	r := gittest.New(t)
	files := func(version string) map[string]string {
		return map[string]string{
			"README": "a fork\n",
			"pkg/pyproject.toml": "[build-system]\nrequires = [\"setuptools\", \"wheel\"]\nbuild-backend = \"setuptools.build_meta\"\n\n" +
				"[project]\nname = \"Forked.Lib\"\nversion = \"" + version + "\"\n\n[tool.setuptools]\npackages = [\"forked_lib\"]\n",
			"pkg/forked_lib/__init__.py": "__version__ = '" + version + "'\n",
		}
	}
	first = r.Commit(files("1.0"), "version 1.0")
	second = r.Commit(files("2.0"), "version 2.0")
	return r.URL(), first, second
}

func TestHostBuildsForkPinnedByCommit(t *testing.T) {
	t.Parallel()
	h, python := debianHost(t)
	needGit(t)
	url, first, second := forkRepo(t)
	ctx := testContext(t)
	// The older commit, not the branch head: only the commit is trusted.
	out := t.TempDir()
	req := Request{Project: "forked-lib", VCS: &VCS{URL: "git+" + url, Commit: first, Subdirectory: "pkg"}, Target: hostTarget(t, "3.11")}
	wheel, err := h.Build(ctx, req, out)
	if err != nil {
		t.Fatal(err)
	}
	wantWheel(t, wheel, "forked-lib", "1.0", "py3-none-any")
	if got := pipInstallAndImport(t, python, out, "forked-lib", "forked_lib"); got != "1.0" {
		t.Errorf("the installed fork says __version__ %q, want 1.0", got)
	}
	checkouts, _ := filepath.Glob(filepath.Join(h.opts.cacheDir, "git", "*", first))
	if len(checkouts) != 1 {
		t.Fatalf("no cached checkout of %s: %v", first, checkouts)
	}
	if _, err := os.Stat(filepath.Join(checkouts[0], "pkg", "build")); err == nil {
		t.Error("the cached checkout was built in place")
	}

	// The version is whatever the commit's metadata says: the request's
	// version is not checked for forks.
	req2 := Request{Project: "Forked_Lib", Version: "0.0.1", VCS: &VCS{URL: url, Commit: second, Subdirectory: "pkg"}, Target: hostTarget(t, "3.11")}
	wheel, err = h.Build(ctx, req2, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	wantWheel(t, wheel, "forked-lib", "2.0", "py3-none-any")

	// Again, after the cached wheels are gone: the checkout is reused.
	if err := os.RemoveAll(filepath.Join(h.opts.cacheDir, "wheels")); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(checkouts[0], "README")
	if err := os.WriteFile(marker, []byte("reused\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Build(ctx, req, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(marker); string(got) != "reused\n" {
		t.Error("the cached checkout was fetched again")
	}
	if n := h.builds.Load(); n != 3 {
		t.Errorf("%d builds, want 3", n)
	}
}

func TestHostRejectsForkCommitThatDoesNotExist(t *testing.T) {
	t.Parallel()
	needGit(t)
	python := needPython(t, debianPython)
	url, _, _ := forkRepo(t)
	h := newHost(t, WithPython(python))
	missing := strings.Repeat("0123456789", 4)
	_, err := h.Build(testContext(t), Request{Project: "forked-lib", VCS: &VCS{URL: url, Commit: missing}, Target: hostTarget(t, "3.11")}, t.TempDir())
	if err == nil {
		t.Fatal("a commit that does not exist was built")
	}
	var be *Error
	if !errors.As(err, &be) || be.Project != "forked-lib" {
		t.Errorf("got %#v, want an *Error for forked-lib", err)
	}
	if !strings.Contains(err.Error(), missing+": the repository has no such commit") {
		t.Errorf("the error does not say the commit is missing: %v", err)
	}
	// The repository's folder keeps its checkouts lock (.lock), nothing
	// else.
	got, _ := filepath.Glob(filepath.Join(h.opts.cacheDir, "git", "*", "*"))
	got = slices.DeleteFunc(got, func(p string) bool { return filepath.Base(p) == ".lock" })
	if len(got) != 0 {
		t.Errorf("a failed checkout was left in the cache: %v", got)
	}
}
