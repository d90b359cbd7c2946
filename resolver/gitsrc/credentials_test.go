package gitsrc

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/gittest"
)

// TestARepositorysTokenReachesGitOnlyThroughItsEnvironment serves a
// repository over HTTP behind basic auth: ResolveRev and Checkout of
// its URL with user and token succeed, the server saw the user, and no
// git command line (what ps shows every user) carries the token; the
// checkout is the same one as the URL's without credentials.
func TestARepositorysTokenReachesGitOnlyThroughItsEnvironment(t *testing.T) {
	r := gittest.New(t)
	commit := r.Commit(map[string]string{"a.txt": "1"}, "one")
	srv := r.Serve("org/fork.git", "ci", "s3cr3t-token")
	args := gittest.RecordArgs(t)
	bare := srv.URL + "/org/fork.git"
	withToken := strings.Replace(bare, "http://", "http://ci:s3cr3t-token@", 1)
	ctx := context.Background()

	got, err := ResolveRev(ctx, withToken, "main")
	if err != nil || got != commit {
		t.Fatalf("ResolveRev = %s, %v; want %s", got, err, commit)
	}
	cache := t.TempDir()
	dir, head, err := Checkout(ctx, cache, withToken, commit)
	if err != nil || head != commit {
		t.Fatalf("Checkout = %s, %v", head, err)
	}
	if b, err := os.ReadFile(dir + "/a.txt"); err != nil || string(b) != "1" {
		t.Errorf("checkout holds %q, %v", b, err)
	}
	if !slices.Contains(srv.Users(), "ci") {
		t.Errorf("the server never saw the user: %q", srv.Users())
	}
	cmdlines, err := os.ReadFile(args)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cmdlines), bare) {
		t.Errorf("git was never given the repository:\n%s", cmdlines)
	}
	if strings.Contains(string(cmdlines), "s3cr3t") {
		t.Errorf("a git command line carries the token:\n%s", cmdlines)
	}
	// The checkout is the repository's: found again without credentials.
	if again, _, err := Checkout(ctx, cache, bare, commit); err != nil || again != dir {
		t.Errorf("Checkout without credentials = %s, %v; want the cached %s", again, err, dir)
	}
}

// TestAWrongOrMissingTokenFailsWithoutRepeatingIt: git's refusal is an
// error naming the repository without its user or token.
func TestAWrongOrMissingTokenFailsWithoutRepeatingIt(t *testing.T) {
	r := gittest.New(t)
	commit := r.Commit(map[string]string{"a.txt": "1"}, "one")
	srv := r.Serve("org/fork.git", "ci", "s3cr3t-token")
	bare := srv.URL + "/org/fork.git"
	ctx := context.Background()
	for _, tt := range []struct{ name, url string }{
		{"wrong token", strings.Replace(bare, "http://", "http://ci:wr0ng-t0ken@", 1)},
		{"user only", strings.Replace(bare, "http://", "http://wr0ng-t0ken@", 1)},
		{"none", bare},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ResolveRev(ctx, tt.url, "main")
			if err == nil || !strings.Contains(err.Error(), bare) || strings.Contains(err.Error(), "wr0ng") {
				t.Errorf("ResolveRev: %v; want an error naming %s without the token", err, bare)
			}
			_, _, err = Checkout(ctx, t.TempDir(), tt.url, commit)
			if err == nil || strings.Contains(err.Error(), "wr0ng") {
				t.Errorf("Checkout: %v; want an error without the token", err)
			}
		})
	}
}

func TestWithoutCredentialsKeepsAnSSHLoginAndDropsEveryToken(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"https://ci:tok@example.org/org/fork.git", "https://example.org/org/fork.git"},
		{"https://tok@example.org/org/fork.git", "https://example.org/org/fork.git"},
		{"HTTP://ci:tok@example.org:8080/fork.git", "http://example.org:8080/fork.git"},
		{"ssh://git@example.org/org/fork.git", "ssh://git@example.org/org/fork.git"},
		{"ssh://git:tok@example.org/org/fork.git", "ssh://git@example.org/org/fork.git"},
		{"https://example.org/org/fork.git", "https://example.org/org/fork.git"},
		{"file:///srv/fork", "file:///srv/fork"},
	} {
		if got := WithoutCredentials(tt.in); got != tt.want {
			t.Errorf("WithoutCredentials(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if !SameRepository("git+https://ci:tok@example.org/fork.git", "https://example.org/fork.git") {
		t.Error("a URL and its tokened form are not one repository")
	}
}

func TestAControlCharacterInATokenIsRefused(t *testing.T) {
	_, err := ResolveRev(context.Background(), "https://ci:a%0Ahost=evil@example.org/fork.git", "main")
	if err == nil || !strings.Contains(err.Error(), "control character") || strings.Contains(err.Error(), "evil") {
		t.Errorf("a token with a newline: %v", err)
	}
}
