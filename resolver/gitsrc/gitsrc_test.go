package gitsrc

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/gittest"
)

// repo makes a repository with two commits, a branch and an annotated tag
// on the first, and returns its file:// URL and both commits.
func repo(t *testing.T) (url, first, second string) {
	t.Helper()
	r := gittest.New(t)
	first = r.Commit(map[string]string{"a.txt": "1"}, "one")
	r.Git("tag", "-a", "v1", "-m", "v1")
	return r.URL(), first, r.Commit(map[string]string{"a.txt": "2"}, "two")
}

func TestResolveRevPinsBranchesAndAnnotatedTagsToCommits(t *testing.T) {
	url, first, second := repo(t)
	ctx := context.Background()
	for _, tt := range []struct{ rev, want string }{{"main", second}, {"", second}, {"v1", first}, {first, first}} {
		got, err := ResolveRev(ctx, url, tt.rev)
		if err != nil || got != tt.want {
			t.Errorf("ResolveRev(%q) = %s, %v; want %s", tt.rev, got, err, tt.want)
		}
	}
	if _, err := ResolveRev(ctx, url, "nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown rev: %v", err)
	}
}

func TestCheckoutIsCachedByFullCommitAndExpandsShortIDs(t *testing.T) {
	url, first, _ := repo(t)
	cache := t.TempDir()
	ctx := context.Background()
	dir, full, err := Checkout(ctx, cache, url, first[:10])
	if err != nil || full != first {
		t.Fatalf("short id: %s, %s, %v", dir, full, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.txt")); string(b) != "1" {
		t.Errorf("checkout has %q, want the first commit's file", b)
	}
	again, _, err := Checkout(ctx, cache, url, first)
	if err != nil || again != dir {
		t.Errorf("second checkout %s, %v; want the cached %s", again, err, dir)
	}
	_, _, err = Checkout(ctx, cache, url, strings.Repeat("0", 40))
	if err == nil || !strings.Contains(err.Error(), "no such commit") {
		t.Errorf("missing commit: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(cache, "git", "*", ".tmp-*")); len(left) != 0 {
		t.Errorf("temporary checkouts left behind: %v", left)
	}
}

// TestCheckoutRemovesTheTemporaryCheckoutsOfDeadProcessesOnly: a process
// killed between a checkout's create and its rename leaves a temporary
// checkout under git/; the next checkout of that repository removes it
// when no other checkout of it is live, keeps it while one is (it may be
// that one's), and never touches a name Checkout does not make.
func TestCheckoutRemovesTheTemporaryCheckoutsOfDeadProcessesOnly(t *testing.T) {
	url, first, second := repo(t)
	cache := t.TempDir()
	ctx := context.Background()
	dir, _, err := Checkout(ctx, cache, url, first)
	if err != nil {
		t.Fatal(err)
	}
	parent := filepath.Dir(dir)
	plant := func(name string) string {
		t.Helper()
		p := filepath.Join(parent, name)
		if err := os.MkdirAll(filepath.Join(p, ".git"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }

	// Another process's checkout is live: its lock is held.
	release, err := lockCheckouts(ctx, parent)
	if err != nil {
		t.Fatal(err)
	}
	live := plant(".tmp-" + second[:7] + "-123456")
	if _, _, err := Checkout(ctx, cache, url, second); err != nil {
		t.Fatal(err)
	}
	if !exists(live) {
		t.Errorf("a checkout removed %s while its process held the lock", live)
	}
	release()

	// It is dead now; a user's folders and one not of Checkout's making stay.
	notOurs := []string{plant("notes"), plant(".tmp-notacommit-1"), plant(".tmp-" + second[:7] + "-12x")}
	if err := os.RemoveAll(filepath.Join(parent, second)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Checkout(ctx, cache, url, second); err != nil {
		t.Fatal(err)
	}
	if exists(live) {
		t.Errorf("%s is left though no process holds the lock", live)
	}
	for _, p := range notOurs {
		if !exists(p) {
			t.Errorf("%s was removed: Checkout never made it", p)
		}
	}
	if !exists(filepath.Join(parent, second)) || !exists(dir) {
		t.Errorf("a finished checkout was removed")
	}
}
