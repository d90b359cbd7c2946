package fetch

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/wheelhouse"
)

// longWheelIndex has one project whose only wheel's file name takes 250
// bytes: a 180-byte project name and a local version, as a long tag set
// would make it. Its PEP 658 sidecar's name (259 bytes) cannot exist.
func longWheelIndex(t testing.TB) (*pypitest.Index, string, string) {
	t.Helper()
	name := strings.Repeat("a", 180)
	version := "1.0+" + strings.Repeat("b", 48)
	wheel := name + "-" + version + "-py3-none-any.whl"
	if len(wheel) != 250 {
		t.Fatalf("the wheel's name is %d bytes", len(wheel))
	}
	return &pypitest.Index{Projects: []pypitest.Project{{Name: name, Releases: []pypitest.Release{pure(version)}}}}, name, wheel
}

// TestFetchStoresAWheelWithA250ByteFileNameWithoutASidecar: a wheel
// whose name leaves no room for a temporary name built from it is
// fetched, from its index, from the user cache into a second store and
// again over a store that has it; it is listed without a sidecar (whose
// name would pass the 255 bytes a file name has), verify finds nothing
// wrong, and no temporary file is left.
func TestFetchStoresAWheelWithA250ByteFileNameWithoutASidecar(t *testing.T) {
	idx, name, wheel := longWheelIndex(t)
	_, lock := lockIndex(t, idx, []string{name}, []string{amd64})
	if got := lockedFiles(lock); len(got) != 1 || got[0] != wheel {
		t.Fatalf("the lock lists %v", got)
	}
	cache := t.TempDir()
	for _, run := range []struct {
		name string
		got  func(*Report) int
	}{
		{"from the index", func(r *Report) int { return r.Downloaded }},
		{"from the user cache", func(r *Report) int { return r.Linked }},
	} {
		s := newStore(t)
		rep, err := Fetch(context.Background(), s, lock, fastOptions(WithCacheDir(cache))...)
		if err != nil {
			t.Fatalf("%s: %v", run.name, err)
		}
		if run.got(rep) != 1 {
			t.Errorf("%s: report %+v", run.name, rep)
		}
		e, ok := reopen(t, s).Lookup(wheel)
		if !ok {
			t.Fatalf("%s: %s is not in the manifest", run.name, wheel)
		}
		if e.MetadataSHA256 != "" || wheelhouse.SidecarFits(wheel) {
			t.Errorf("%s: the entry names a sidecar %q", run.name, e.MetadataSHA256)
		}
		mustVerifyClean(t, s, lock)
		if left := leftovers(t, s); len(left) > 0 {
			t.Errorf("%s: left %v in files/", run.name, left)
		}
		// Fetched again into the same store: present, still whole.
		rep, err = Fetch(context.Background(), reopen(t, s), lock, fastOptions(WithCacheDir(cache))...)
		if err != nil {
			t.Fatalf("%s, again: %v", run.name, err)
		}
		if rep.Present != 1 {
			t.Errorf("%s, again: report %+v", run.name, rep)
		}
		mustVerifyClean(t, s, lock)
	}
}

// TestFetchRemovesTheUserCachesStaleTemporaryFilesOnly: a fetch killed
// between a file's create and its rename into the user cache leaves a
// temporary file there, of this larder's naming or an earlier one's. A
// later fetch removes those over an hour old, keeps a younger one (a
// live fetch's: the cache has no lock) and every other name.
func TestFetchRemovesTheUserCachesStaleTemporaryFilesOnly(t *testing.T) {
	_, lock := lockIndex(t, smallIndex(), []string{"lib"}, []string{amd64})
	cache := t.TempDir()
	sha := filepath.Join(cache, "files", "sha256")
	old := time.Now().Add(-staleCacheTemp - time.Minute)
	sum := strings.Repeat("ab", 32)
	plant := func(rel string, mtime time.Time) string {
		return testenv.Plant(t, filepath.Join(sha, rel), mtime)
	}
	dead := []string{plant("ab/.fetch-0123456789abcdef.tmp", old), plant("ab/."+sum+".tmp-0123456789ab", old)}
	kept := []string{
		plant("ab/.fetch-fedcba9876543210.tmp", time.Now()), // live
		plant("ab/"+sum, old),
		plant("ab/.fetch-notes.tmp", old),
		plant("ab/.notes", old),
	}
	if _, err := Fetch(context.Background(), newStore(t), lock, fastOptions(WithCacheDir(cache))...); err != nil {
		t.Fatal(err)
	}
	for _, p := range dead {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s, over an hour old, is left", p)
		}
	}
	for _, p := range kept {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
	// It looks once an hour, not on every fetch: a file that grew stale
	// since is left by a fetch within the hour, removed by the first one
	// after it.
	late := plant("cd/.fetch-00000000000000ff.tmp", old)
	fetch := func() {
		t.Helper()
		if _, err := Fetch(context.Background(), newStore(t), lock, fastOptions(WithCacheDir(cache))...); err != nil {
			t.Fatal(err)
		}
	}
	fetch()
	if _, err := os.Stat(late); err != nil {
		t.Errorf("a fetch within the hour of the last look looked again: %v", err)
	}
	marker := filepath.Join(sha, cacheSweptName)
	if err := os.Chtimes(marker, old, old); err != nil {
		t.Fatal(err)
	}
	fetch()
	if _, err := os.Stat(late); err == nil {
		t.Error("the first fetch an hour after the last look left a stale file")
	}
	if st, err := os.Lstat(marker); err != nil || time.Since(st.ModTime()) > time.Minute {
		t.Errorf("the look an hour later left its time unset: %v", err)
	}
}
