package gitsrc

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// repo makes a repository with two commits, a branch and an annotated tag
// on the first, and returns its file:// URL and both commits.
func repo(t *testing.T) (url, first, second string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	run := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("init", "-q", "-b", "main")
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("1"), 0o644)
	run("add", ".")
	run("commit", "-q", "-m", "one")
	first = run("rev-parse", "HEAD")
	run("tag", "-a", "v1", "-m", "v1")
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("2"), 0o644)
	run("commit", "-q", "-am", "two")
	return "file://" + dir, first, run("rev-parse", "HEAD")
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
