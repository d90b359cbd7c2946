package fetch

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestTwoStoresSharingTheUserCacheDownloadOnce(t *testing.T) {
	srv, lock := lockIndex(t, smallIndex(), []string{"app"}, []string{amd64, arm64})
	cache := t.TempDir()
	opts := fastOptions(WithCacheDir(cache))
	a := newStore(t)
	if _, err := Fetch(context.Background(), a, lock, opts...); err != nil {
		t.Fatal(err)
	}
	if n := fileRequests(srv); n != 5 {
		t.Fatalf("first store: %d file requests, want 5", n)
	}
	srv.Reset()
	b := newStore(t)
	rep, err := Fetch(context.Background(), b, lock, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.TotalRequests(); n != 0 || rep.Linked != 5 || rep.Downloaded != 0 {
		t.Errorf("second store: %d requests, report %+v", n, rep)
	}
	for _, e := range reopen(t, b).Entries() {
		sa, err1 := os.Stat(a.Path(e.Filename))
		sb, err2 := os.Stat(b.Path(e.Filename))
		sc, err3 := os.Stat(filepath.Join(cache, "files", "sha256", e.SHA256[:2], e.SHA256))
		if err1 != nil || err2 != nil || err3 != nil || !os.SameFile(sb, sc) || !os.SameFile(sa, sc) {
			t.Errorf("%s is not one hard-linked file in both stores and the cache", e.Filename)
		}
	}
	if l := leftovers(t, b); len(l) > 0 {
		t.Errorf("leftovers %v", l)
	}
	mustVerifyClean(t, b, lock)
}

func TestACorruptCacheFileIsDroppedAndDownloadedAgain(t *testing.T) {
	srv, lock := lockIndex(t, smallIndex(), []string{"app"}, []string{amd64})
	cache := t.TempDir()
	opts := fastOptions(WithCacheDir(cache))
	a := newStore(t)
	if _, err := Fetch(context.Background(), a, lock, opts...); err != nil {
		t.Fatal(err)
	}
	e, ok := reopen(t, a).Lookup(libWheel)
	if !ok {
		t.Fatalf("%s not fetched", libWheel)
	}
	// Corrupt through the cache's name: the store shares the inode.
	flipByte(t, filepath.Join(cache, "files", "sha256", e.SHA256[:2], e.SHA256), 10)
	srv.Reset()
	b := newStore(t)
	rep, err := Fetch(context.Background(), b, lock, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if srv.Requests("/files/"+libWheel) != 1 || rep.Linked != 3 || rep.Downloaded != 1 {
		t.Errorf("requests %v, report %+v", srv.Counts(), rep)
	}
	mustVerifyClean(t, b, lock)
	// The fresh download went back into the cache.
	sum, _, err := hashOf(filepath.Join(cache, "files", "sha256", e.SHA256[:2], e.SHA256))
	if err != nil || sum != e.SHA256 {
		t.Errorf("the cache holds %s for %s (%v)", sum, e.SHA256, err)
	}
}
