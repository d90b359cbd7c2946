package fetch

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/wheelhouse"
)

func TestFetchStoresEveryLockedFileVerifiedWithSidecarsAndIndex(t *testing.T) {
	srv, lock := lockIndex(t, smallIndex(), []string{"app"}, []string{amd64, arm64})
	s := newStore(t)
	var mu sync.Mutex
	states := map[State]int{}
	opts := fastOptions()
	opts = append(opts, WithProgress(func(e Event) {
		mu.Lock()
		states[e.State]++
		mu.Unlock()
	}))
	rep, err := Fetch(context.Background(), s, lock, opts...)
	if err != nil {
		t.Fatal(err)
	}
	want := lockedFiles(lock)
	if len(want) != 5 {
		t.Fatalf("lock lists %v, want app, lib, big and fast twice", want)
	}
	if rep.Downloaded != 5 || rep.Files != 5 || rep.Present != 0 || rep.Bytes == 0 && rep.TotalBytes == 0 {
		t.Errorf("report %+v", rep)
	}
	if states[Started] != 5 || states[Done] != 5 || states[Progress] == 0 {
		t.Errorf("progress events %v: want 5 started, 5 done and some progress", states)
	}
	s = reopen(t, s)
	var names []string
	for _, e := range s.Entries() {
		names = append(names, e.Filename)
		files, err := srv.Files(e.Project)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(files, func(f *pypitest.File) bool { return f.Filename == e.Filename })
		if i < 0 {
			t.Fatalf("%s is not on the index", e.Filename)
		}
		f := files[i]
		if e.SHA256 != f.SHA256 || e.Size != int64(f.Size) || e.MetadataSHA256 != f.MetadataSHA256 {
			t.Errorf("%s: entry %+v does not match the index (sha %s size %d metadata %s)", e.Filename, e, f.SHA256, f.Size, f.MetadataSHA256)
		}
		side, err := os.ReadFile(s.MetadataPath(e.Filename))
		if err != nil || string(side) != string(f.Metadata) {
			t.Errorf("%s: sidecar %q, %v", e.Filename, side, err)
		}
		if e.Origin.Kind != wheelhouse.OriginIndex || !strings.HasPrefix(e.Origin.URL, srv.BaseURL()) || e.Origin.Index == "" {
			t.Errorf("%s: origin %+v", e.Filename, e.Origin)
		}
		switch {
		case strings.Contains(e.Filename, "x86_64"):
			if !slices.Equal(e.Targets, []string{amd64}) {
				t.Errorf("%s: targets %v", e.Filename, e.Targets)
			}
		case strings.Contains(e.Filename, "aarch64"):
			if !slices.Equal(e.Targets, []string{arm64}) {
				t.Errorf("%s: targets %v", e.Filename, e.Targets)
			}
		default:
			if !slices.Equal(e.Targets, []string{amd64, arm64}) {
				t.Errorf("%s: targets %v", e.Filename, e.Targets)
			}
		}
		if e.Project == "lib" && e.RequiresPython != ">=3.8" {
			t.Errorf("lib: requires-python %q", e.RequiresPython)
		}
	}
	if !slices.Equal(names, want) {
		t.Errorf("store holds %v, want %v", names, want)
	}
	for _, p := range []string{"simple/index.html", "simple/app/index.html", "simple/big-pkg/index.json"} {
		if _, err := os.Stat(filepath.Join(s.Dir(), p)); err != nil {
			t.Errorf("static index: %v", err)
		}
	}
	if l := leftovers(t, s); len(l) > 0 {
		t.Errorf("leftovers %v", l)
	}
	mustVerifyClean(t, s, lock)

	// Everything present: no request at all, every file re-hashed.
	srv.Reset()
	rep, err = Fetch(context.Background(), s, lock, fastOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.TotalRequests(); n != 0 {
		t.Errorf("second fetch made %d requests: %v", n, srv.Counts())
	}
	if rep.Present != 5 || rep.Downloaded != 0 || rep.Adopted != 0 {
		t.Errorf("second report %+v", rep)
	}
}

func TestFetchAdoptsFilesOnDiskThatTheManifestLacks(t *testing.T) {
	srv, lock := lockIndex(t, smallIndex(), []string{"app"}, []string{amd64})
	s := newStore(t)
	if _, err := Fetch(context.Background(), s, lock, fastOptions()...); err != nil {
		t.Fatal(err)
	}
	// Lose the manifest and a sidecar, as a crash between rename and
	// commit would.
	removeFile(t, filepath.Join(s.Dir(), wheelhouse.ManifestName))
	removeFile(t, s.MetadataPath(lock.Packages[0].Wheels[0].FileName()))
	s2, err := wheelhouse.Create(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	srv.Reset()
	rep, err := Fetch(context.Background(), s2, lock, fastOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	if srv.TotalRequests() != 0 || rep.Adopted != 4 || rep.Present != 4 {
		t.Errorf("adoption made %d requests, report %+v", srv.TotalRequests(), rep)
	}
	mustVerifyClean(t, s2, lock)
}

func TestFetchReplacesAFileWhoseBytesChanged(t *testing.T) {
	srv, lock := lockIndex(t, smallIndex(), []string{"app"}, []string{amd64})
	s := newStore(t)
	if _, err := Fetch(context.Background(), s, lock, fastOptions()...); err != nil {
		t.Fatal(err)
	}
	name := lock.Packages[0].Wheels[0].FileName()
	flipByte(t, s.Path(name), 100)
	srv.Reset()
	rep, err := Fetch(context.Background(), s, lock, fastOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Downloaded != 1 || srv.Requests("/files/"+name) != 1 {
		t.Errorf("report %+v, requests %v", rep, srv.Counts())
	}
	mustVerifyClean(t, s, lock)
}

func flipByte(t testing.TB, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}
