package gitsrc

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/larder-build/larder/internal/gittest"
)

// hostileURLs run a command in a git that takes them as an option or a
// transport; pwned is the file the command would create.
func hostileURLs(pwned string) []string {
	return []string{
		"--upload-pack=touch " + pwned + "; false",
		"ext::sh -c touch% " + pwned,
		"ext::sh -c touch% " + pwned + "%;false",
	}
}

// TestGitSourcesNeverRunACommandFromTheURLOrRev hands hostile URLs and
// revisions to the real git through ResolveRev and Checkout, with a user
// configuration that allows the ext transport, and checks no command ran.
func TestGitSourcesNeverRunACommandFromTheURLOrRev(t *testing.T) {
	r := gittest.New(t)
	commit := r.Commit(map[string]string{"a.txt": "1"}, "one")
	pwned := filepath.Join(t.TempDir(), "pwned")
	// A user who allowed ext:: for their own reasons must still be safe.
	t.Setenv("GIT_CONFIG_COUNT", "1")
	t.Setenv("GIT_CONFIG_KEY_0", "protocol.ext.allow")
	t.Setenv("GIT_CONFIG_VALUE_0", "always")
	ctx := context.Background()
	for _, u := range hostileURLs(pwned) {
		if _, err := ResolveRev(ctx, u, "main"); err == nil {
			t.Errorf("ResolveRev(%q) succeeded", u)
		}
		if _, _, err := Checkout(ctx, t.TempDir(), u, commit); err == nil {
			t.Errorf("Checkout(%q) succeeded", u)
		}
	}
	if _, err := ResolveRev(ctx, r.URL(), "--upload-pack=touch "+pwned+"; false"); err == nil {
		t.Error("ResolveRev took a revision starting with '-'")
	}
	// Git itself refuses ext:: even when reached some other way (a
	// redirect, a submodule): the runner allows only the known transports.
	if _, err := Git(ctx, "", "ls-remote", "--", "ext::sh -c touch% "+pwned); err == nil {
		t.Error("git ls-remote ext:: succeeded")
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Fatalf("a hostile git source ran a command: %s exists", pwned)
	}
	// The same git still works with a plain URL.
	if got, err := ResolveRev(ctx, r.URL(), "main"); err != nil || got != commit {
		t.Errorf("ResolveRev(file URL) = %s, %v; want %s", got, err, commit)
	}
}
