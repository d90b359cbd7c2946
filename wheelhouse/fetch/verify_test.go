package fetch

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/larder-build/larder/resolver/pylock"
	"github.com/larder-build/larder/wheelhouse"
)

// withoutPackage returns a copy of the lock without one package.
func withoutPackage(l *pylock.Lock, name string) *pylock.Lock {
	c := *l
	c.Packages = nil
	for _, p := range l.Packages {
		if p.Name != name {
			c.Packages = append(c.Packages, p)
		}
	}
	return &c
}

func TestVerifyFindsEachKindOfDamage(t *testing.T) {
	_, lock := lockIndex(t, smallIndex(), []string{"app"}, []string{amd64})
	fast := lockedFiles(withoutPackage(withoutPackage(withoutPackage(lock, "app"), "lib"), "big-pkg"))[0]
	appWheel := lockedFiles(withoutPackage(withoutPackage(withoutPackage(lock, "fast"), "lib"), "big-pkg"))[0]
	tests := []struct {
		name   string
		damage func(t *testing.T, s *wheelhouse.Store) *pylock.Lock
		kind   wheelhouse.ProblemKind
		file   string
		fails  bool
	}{
		{"a flipped byte", func(t *testing.T, s *wheelhouse.Store) *pylock.Lock {
			flipByte(t, s.Path(libWheel), 50)
			return lock
		}, wheelhouse.ProblemCorrupt, libWheel, true},
		{"a deleted file", func(t *testing.T, s *wheelhouse.Store) *pylock.Lock {
			removeFile(t, s.Path(bigWheel))
			return lock
		}, wheelhouse.ProblemMissing, bigWheel, true},
		{"a file the manifest does not list", func(t *testing.T, s *wheelhouse.Store) *pylock.Lock {
			writeFile(t, s.Path("stray-1.0-py3-none-any.whl"), "zip?")
			return lock
		}, wheelhouse.ProblemUnexpected, "stray-1.0-py3-none-any.whl", true},
		{"a leftover temporary file", func(t *testing.T, s *wheelhouse.Store) *pylock.Lock {
			writeFile(t, s.Path("."+libWheel+".tmp-123"), "half")
			return lock
		}, wheelhouse.ProblemUnexpected, "." + libWheel + ".tmp-123", true},
		{"a deleted sidecar", func(t *testing.T, s *wheelhouse.Store) *pylock.Lock {
			removeFile(t, s.MetadataPath(fast))
			return lock
		}, wheelhouse.ProblemMetadata, fast, true},
		{"an edited sidecar", func(t *testing.T, s *wheelhouse.Store) *pylock.Lock {
			writeFile(t, s.MetadataPath(fast), "Metadata-Version: 2.1\nName: fast\nVersion: 9\n")
			return lock
		}, wheelhouse.ProblemMetadata, fast, true},
		{"a file the lock no longer needs", func(t *testing.T, s *wheelhouse.Store) *pylock.Lock {
			return withoutPackage(lock, "app")
		}, wheelhouse.ProblemStale, appWheel, false},
		{"a file the lock needs but the store never had", func(t *testing.T, s *wheelhouse.Store) *pylock.Lock {
			if err := s.Remove(libWheel); err != nil {
				t.Fatal(err)
			}
			if err := s.Commit(); err != nil {
				t.Fatal(err)
			}
			return lock
		}, wheelhouse.ProblemMissing, libWheel, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			if _, err := Fetch(context.Background(), s, lock, fastOptions()...); err != nil {
				t.Fatal(err)
			}
			l := tt.damage(t, s)
			s2, _ := wheelhouse.Open(s.Dir()) // an inconsistent store still opens
			r, err := Verify(context.Background(), s2, l)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Problems) != 1 || r.Problems[0].Kind != tt.kind || r.Problems[0].File != tt.file {
				t.Fatalf("problems %+v, want one %s for %s", r.Problems, tt.kind, tt.file)
			}
			if r.Failed(false) != tt.fails || !r.Failed(true) {
				t.Errorf("Failed(false)=%v Failed(true)=%v", r.Failed(false), r.Failed(true))
			}
			if r.Files != len(s2.Entries()) || r.Bytes == 0 {
				t.Errorf("checked %d files, %d bytes", r.Files, r.Bytes)
			}
		})
	}
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func removeFile(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

func TestGCListsThenRemovesWhatTheLockDoesNotNeed(t *testing.T) {
	srv, lock := lockIndex(t, smallIndex(), []string{"app"}, []string{amd64})
	s := newStore(t)
	if _, err := Fetch(context.Background(), s, lock, fastOptions()...); err != nil {
		t.Fatal(err)
	}
	appWheel := lockedFiles(withoutPackage(withoutPackage(withoutPackage(lock, "fast"), "lib"), "big-pkg"))[0]
	writeFile(t, s.Path(".half.whl.tmp-1"), "x")
	writeFile(t, s.Path("orphan-1.0-py3-none-any.whl.metadata"), "x")
	writeFile(t, s.Path("stray-1.0.tar.gz"), "x")
	if err := os.Mkdir(s.Path(".build-123"), 0o755); err != nil {
		t.Fatal(err)
	}
	newLock := withoutPackage(lock, "app")
	want := []string{".build-123", ".half.whl.tmp-1", appWheel, "orphan-1.0-py3-none-any.whl.metadata", "stray-1.0.tar.gz"}
	slices.Sort(want)

	r, err := GC(context.Background(), s, newLock, true)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range r.Files {
		got = append(got, g.File)
	}
	if !slices.Equal(got, want) || r.Removed || r.Bytes < 3 {
		t.Fatalf("dry run lists %v (%d bytes, removed %v), want %v", got, r.Bytes, r.Removed, want)
	}
	for _, name := range want {
		if _, err := os.Lstat(s.Path(name)); err != nil {
			t.Errorf("dry run removed %s", name)
		}
	}

	r, err = GC(context.Background(), s, newLock, false)
	if err != nil || !r.Removed || len(r.Files) != len(want) {
		t.Fatalf("gc: %v, %+v", err, r)
	}
	for _, name := range append(want, appWheel+".metadata") {
		if _, err := os.Lstat(s.Path(name)); !os.IsNotExist(err) {
			t.Errorf("%s survived gc", name)
		}
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "simple", "app")); !os.IsNotExist(err) {
		t.Errorf("the static index still lists app")
	}
	mustVerifyClean(t, s, newLock)
	r, err = GC(context.Background(), reopen(t, s), newLock, true)
	if err != nil || len(r.Files) != 0 {
		t.Errorf("a second gc finds %+v (%v)", r, err)
	}
	// The files the lock needs are still served without a request.
	srv.Reset()
	if _, err := Fetch(context.Background(), reopen(t, s), newLock, fastOptions()...); err != nil || srv.TotalRequests() != 0 {
		t.Errorf("fetch after gc: %v, %d requests", err, srv.TotalRequests())
	}
}
