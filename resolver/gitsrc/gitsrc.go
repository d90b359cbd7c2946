// Package gitsrc pins git sources to commits and keeps checkouts of them
// in a cache: the resolver reads a fork's metadata from one, and the
// wheelhouse builder builds the fork from the same one. Every URL,
// revision and subdirectory is checked (CheckURL, CheckRev,
// CheckSubdirectory) before git sees it, because they come from files an
// attacker may write: a lock, a pyproject.toml, a requirement file.
package gitsrc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/larder-build/larder/internal/flock"
)

// fullCommit is a full git object id (SHA-1 or SHA-256): anything shorter,
// and any branch or tag name, could name a different tree tomorrow.
var fullCommit = regexp.MustCompile(`^(?:[0-9a-f]{40}|[0-9a-f]{64})$`)

// shortCommit is an abbreviated object id, which servers do not advertise.
var shortCommit = regexp.MustCompile(`^[0-9a-f]{7,63}$`)

// IsCommit reports whether s is a full commit id.
func IsCommit(s string) bool { return fullCommit.MatchString(s) }

// Git runs a git command in dir and returns its trimmed output. Git never
// prompts, and its errors carry git's own message. Only the transports in
// Schemes are allowed, whatever git's configuration says, so a redirect or
// a submodule cannot reach "ext::"; the user's configuration (credential
// helpers, proxies, ssh keys) is otherwise left alone. Callers put "--"
// before any argument that comes from outside.
func Git(ctx context.Context, dir string, args ...string) (string, error) {
	return gitEnv(ctx, dir, nil, args...)
}

// gitEnv is Git with env added to git's environment (a repository's
// credentials: see splitCredentials).
func gitEnv(ctx context.Context, dir string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	// Later entries win, so these override the caller's environment.
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=true", "SSH_ASKPASS=true", "LC_ALL=C",
		"GIT_ALLOW_PROTOCOL="+allowProtocol)
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return "", fmt.Errorf("git is needed for git sources: %w", err)
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("git %s: %w", args[0], ctx.Err())
		}
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("git %s: %s", args[0], msg)
	}
	return strings.TrimSpace(out.String()), nil
}

// ResolveRev turns a branch, tag or commit into a commit id with git
// ls-remote. A full commit id is returned as it is, and an abbreviated one
// (servers do not advertise those) is left for Checkout to expand. The
// user and password of an http(s) url reach git through its environment,
// never its command line, and no message repeats them.
func ResolveRev(ctx context.Context, url, rev string) (string, error) {
	if err := CheckURL(url); err != nil {
		return "", err
	}
	if err := CheckRev(rev); err != nil {
		return "", err
	}
	if IsCommit(rev) {
		return rev, nil
	}
	url, env, err := splitCredentials(url)
	if err != nil {
		return "", err
	}
	want := rev
	if want == "" {
		want = "HEAD"
	}
	out, err := gitEnv(ctx, "", env, "ls-remote", "--", url, want, "refs/heads/"+want, "refs/tags/"+want, "refs/tags/"+want+"^{}")
	if err != nil {
		return "", fmt.Errorf("resolving %s@%s: %w", url, rev, err)
	}
	commits := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if sha, ref, ok := strings.Cut(line, "\t"); ok {
			commits[ref] = sha
		}
	}
	// An annotated tag's commit is behind "^{}".
	for _, ref := range []string{"refs/tags/" + want + "^{}", "refs/tags/" + want, "refs/heads/" + want, want} {
		if sha, ok := commits[ref]; ok {
			return sha, nil
		}
	}
	if shortCommit.MatchString(rev) {
		return rev, nil
	}
	return "", fmt.Errorf("resolving %s@%s: no branch, tag or commit named %q", url, rev, rev)
}

// Checkout returns a checkout of url at commit under cacheDir/git, and the
// full commit id, fetching it when it is not there yet. A shallow fetch of
// the one commit is tried first; servers that refuse unadvertised commits
// (and abbreviated ids) get a full fetch. The checkout is made in a
// temporary folder and renamed into place, so a checkout under its real
// name is always complete. Callers must not write into it. As with
// ResolveRev, an http(s) url's credentials reach git through its
// environment; the checkout is the repository's, whatever credentials
// it was fetched with.
func Checkout(ctx context.Context, cacheDir, url, commit string) (string, string, error) {
	if err := CheckURL(url); err != nil {
		return "", "", err
	}
	if !IsCommit(commit) && !shortCommit.MatchString(commit) {
		return "", "", fmt.Errorf("%q is not a commit id", commit)
	}
	url, env, err := splitCredentials(url)
	if err != nil {
		return "", "", err
	}
	sum := sha256.Sum256([]byte(url))
	parent := filepath.Join(cacheDir, "git", hex.EncodeToString(sum[:8]))
	if IsCommit(commit) {
		if dir := filepath.Join(parent, commit); isDir(dir) {
			return dir, commit, nil
		}
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", "", err
	}
	release, err := lockCheckouts(ctx, parent)
	if err != nil {
		return "", "", err
	}
	defer release()
	tmp, err := os.MkdirTemp(parent, checkoutTmpPrefix+commit[:7]+"-")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(tmp)
	if _, err := Git(ctx, tmp, "-c", "init.defaultBranch=larder", "init", "-q"); err != nil {
		return "", "", err
	}
	fetched := false
	if IsCommit(commit) {
		_, err := gitEnv(ctx, tmp, env, "fetch", "-q", "--depth=1", "--", url, commit)
		if err != nil && ctx.Err() != nil {
			return "", "", err
		}
		fetched = err == nil
	}
	if !fetched {
		if _, err := gitEnv(ctx, tmp, env, "fetch", "-q", "--", url, "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"); err != nil {
			return "", "", fmt.Errorf("fetching %s: %w", url, err)
		}
	}
	if _, err := Git(ctx, tmp, "cat-file", "-e", commit+"^{commit}"); err != nil {
		return "", "", errors.New("the repository has no such commit")
	}
	if _, err := Git(ctx, tmp, "-c", "advice.detachedHead=false", "checkout", "-q", "--detach", commit, "--"); err != nil {
		return "", "", err
	}
	head, err := Git(ctx, tmp, "rev-parse", "HEAD")
	if err != nil {
		return "", "", err
	}
	if !strings.HasPrefix(head, commit) {
		return "", "", fmt.Errorf("checked out %s but asked for %s", head, commit)
	}
	dir := filepath.Join(parent, head)
	if err := os.Rename(tmp, dir); err != nil {
		// Another process may have finished the same checkout first.
		if isDir(dir) {
			return dir, head, nil
		}
		return "", "", err
	}
	return dir, head, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// checkoutTmpPrefix starts the name of a checkout in progress: the
// prefix, 7 digits of the commit, "-" and MkdirTemp's decimal digits.
const checkoutTmpPrefix = ".tmp-"

// checkoutsLockName is the lock file of a repository's folder under git/:
// every Checkout holds it shared while its temporary checkout exists, and
// one that finds it free (no live checkout of that repository anywhere)
// takes it alone for a moment to remove what killed processes left.
const checkoutsLockName = ".lock"

// lockCheckouts holds parent's checkouts lock shared until release is
// called, first removing the temporary checkouts of dead processes when
// no other process holds it. It waits while another process removes
// them, until ctx ends.
func lockCheckouts(ctx context.Context, parent string) (release func(), err error) {
	f, err := flock.OpenWritable(filepath.Join(parent, checkoutsLockName))
	if err != nil {
		return nil, fmt.Errorf("locking the git checkouts in %s: %w", parent, err)
	}
	ok, err := flock.TryLock(f, true)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking the git checkouts in %s: %w", parent, err)
	}
	// Where flock(2) is missing every lock is granted: no checkout can
	// be told dead, so none is removed.
	if ok && flock.Works {
		removeDeadCheckouts(parent)
	}
	if err := flock.Wait(ctx, f, false); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking the git checkouts in %s: %w", parent, err)
	}
	return func() { f.Close() }, nil
}

// removeDeadCheckouts removes the temporary checkouts in parent, every
// one of a process killed between its create and its rename: its caller
// holds the checkouts lock alone, so none is live. Only folders named as
// Checkout names them are touched.
func removeDeadCheckouts(parent string) {
	ents, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, d := range ents {
		if d.IsDir() && isCheckoutTmp(d.Name()) {
			_ = os.RemoveAll(filepath.Join(parent, d.Name()))
		}
	}
}

// isCheckoutTmp reports whether name is a temporary checkout's:
// checkoutTmpPrefix, 7 lowercase hex digits, "-" and decimal digits.
func isCheckoutTmp(name string) bool {
	rest, ok := strings.CutPrefix(name, checkoutTmpPrefix)
	if !ok || len(rest) < 9 || rest[7] != '-' || !shortCommit.MatchString(rest[:7]) {
		return false
	}
	digits := rest[8:]
	return digits != "" && strings.Trim(digits, "0123456789") == ""
}
