package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/gittest"
	"github.com/larder-build/larder/internal/locktest"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/wheelhouse"
)

// count is how many of users are user.
func count(users []string, user string) int {
	n := 0
	for _, u := range users {
		if u == user {
			n++
		}
	}
	return n
}

// noSecret fails the test when any of outs, or any of the files, holds
// secret.
func noSecret(t *testing.T, secret string, outs map[string]string, files ...string) {
	t.Helper()
	for name, s := range outs {
		if strings.Contains(s, secret) {
			t.Errorf("%s holds the token:\n%s", name, s)
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // not written
		}
		if strings.Contains(string(b), secret) {
			t.Errorf("%s holds the token:\n%s", f, b)
		}
	}
}

// TestAGitSourcesTokenStaysOutOfTheLockAndComesBackForFetch: a private
// fork served over HTTP behind basic auth, required as
// git+http://ci:TOKEN@host/org/fork.git@v3.1.4, is locked with its URL
// without the token, and larder fetch checks it out again with the
// token the requirement file gives; no git command line (ps), no
// output, lock or manifest holds the token.
func TestAGitSourcesTokenStaysOutOfTheLockAndComesBackForFetch(t *testing.T) {
	repo, commit := locktest.ForkRepo(t, "web")
	git := repo.Serve("org/fork.git", "ci", "s3cr3t-token")
	args := gittest.RecordArgs(t)
	bare := git.URL + "/org/fork.git"
	withToken := strings.Replace(bare, "http://", "http://ci:s3cr3t-token@", 1)
	dir := newProject(t, pypitest.Start(t, smallIndex()), "edx-private-fork @ git+"+withToken+"@v3.1.4\nweb\n",
		"[wheelhouse]\ndir = \"wh\"\n[[target]]\nplatform = \"linux/amd64\"\npython = \"3.11\"\n")
	lockPath, manifest := filepath.Join(dir, "pylock.toml"), filepath.Join(dir, "wh", wheelhouse.ManifestName)

	code, out, stderr := run(t, dir, "lock")
	if code != 0 {
		t.Fatalf("lock: exit %d\n%s\n%s", code, out, stderr)
	}
	noSecret(t, "s3cr3t", map[string]string{"lock's stdout": out, "lock's stderr": stderr}, lockPath, args)
	lock, err := os.ReadFile(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(lock), `url = "`+bare+`"`) || !strings.Contains(string(lock), commit) {
		t.Errorf("the lock does not record the fork's URL %s at %s:\n%s", bare, commit, lock)
	}

	// A fetch with nothing cached checks the fork out again, with the
	// requirement file's token: the server sees its user.
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	before := count(git.Users(), "ci")
	code, out, stderr = run(t, dir, "fetch", "-v")
	if count(git.Users(), "ci") == before {
		t.Errorf("fetch never gave the fork's server the token: exit %d\n%s\n%s", code, out, stderr)
	}
	if strings.Contains(stderr, "Authentication failed") || strings.Contains(stderr, "checking out") {
		t.Errorf("fetch could not check the fork out:\n%s", stderr)
	}
	noSecret(t, "s3cr3t", map[string]string{"fetch's stdout": out, "fetch's stderr": stderr}, lockPath, manifest, args)

	// Without the requirement file, fetch says the fork is checked out
	// without its credentials (and git's server refuses it).
	if err := os.Rename(filepath.Join(dir, "requirements.txt"), filepath.Join(dir, "moved.txt")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	if err := os.RemoveAll(filepath.Join(dir, "wh")); err != nil {
		t.Fatal(err)
	}
	code, out, stderr = run(t, dir, "fetch")
	if code == 0 || !strings.Contains(stderr, "warning:") || !strings.Contains(stderr, "requirements.txt") || !strings.Contains(stderr, "without the credentials") {
		t.Errorf("fetch without the requirement file: exit %d, want a failure after a warning naming it\n%s\n%s", code, out, stderr)
	}
	noSecret(t, "s3cr3t", map[string]string{"fetch's stdout": out, "fetch's stderr": stderr}, lockPath, args)
}

// TestAnIndexTokenOnTheCommandLineOrInNetrcReachesFetchAndNoOutput: a
// lock made with --index-url USER:TOKEN fetches with the same flag, and
// without it fails with 401 and a hint saying how to give credentials;
// a netrc naming the host serves both lock and fetch. No stdout,
// stderr, lock or manifest holds the token, a failing lock's neither.
func TestAnIndexTokenOnTheCommandLineOrInNetrcReachesFetchAndNoOutput(t *testing.T) {
	srv := pypitest.Start(t, smallIndex(), pypitest.WithBasicAuth("ci", "s3cr3t-token"))
	withToken := strings.Replace(srv.URL(), "http://", "http://ci:s3cr3t-token@", 1)
	t.Setenv("NETRC", filepath.Join(t.TempDir(), "none"))
	dir := newProject(t, srv, "web\n", "[wheelhouse]\ndir = \"wh\"\n[[target]]\nplatform = \"linux/amd64\"\npython = \"3.11\"\n")
	files := []string{filepath.Join(dir, "pylock.toml"), filepath.Join(dir, "wh", wheelhouse.ManifestName)}
	outs := map[string]string{}
	step := func(name string, wantCode int, wantErr string, args ...string) {
		t.Helper()
		code, out, stderr := run(t, dir, args...)
		outs[name+"'s stdout"], outs[name+"'s stderr"] = out, stderr
		if code != wantCode || !strings.Contains(stderr, wantErr) {
			t.Errorf("%s: exit %d, want %d and %q\n%s\n%s", name, code, wantCode, wantErr, out, stderr)
		}
	}
	wrong := strings.Replace(srv.URL(), "http://", "http://ci:s3cr3t-wrong@", 1)
	step("lock with a wrong token", 1, "hint: the index wants credentials", "lock", "--index-url", wrong)
	step("lock from an unreachable index", 1, "unreachable", "lock", "--retries", "0", "--index-url", "http://ci:s3cr3t-x@127.0.0.1:1/simple/")
	step("lock", 0, "", "lock", "--index-url", withToken)
	step("fetch without the token", 1, "hint: the index wants credentials", "fetch")
	step("fetch", 0, "", "fetch", "--index-url", withToken)
	noSecret(t, "s3cr3t", outs, files...)

	// A netrc naming the host serves lock and fetch without a flag.
	netrc := filepath.Join(t.TempDir(), "netrc")
	writeFiles(t, filepath.Dir(netrc), map[string]string{"netrc": "machine 127.0.0.1\n  login ci\n  password s3cr3t-token\n"})
	t.Setenv("NETRC", netrc)
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	if err := os.RemoveAll(filepath.Join(dir, "wh")); err != nil {
		t.Fatal(err)
	}
	outs = map[string]string{}
	step("lock with the netrc", 0, "", "lock")
	step("fetch with the netrc", 0, "", "fetch")
	noSecret(t, "s3cr3t", outs, files...)
}
