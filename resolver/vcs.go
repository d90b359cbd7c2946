package resolver

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

	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/pep517"
)

// VCS is a requirement on a version control checkout, such as a git fork
// that is not on any index.
type VCS struct {
	// URL is the repository URL without the "git+" prefix or revision.
	URL string
	// Rev is the branch, tag or commit asked for ("" for the default branch).
	Rev string
	// Commit is the full commit id Rev resolved to.
	Commit string
	// Subdirectory is where the package lives in the repository.
	Subdirectory string
}

// String renders the requirement URL pip understands, pinned to the commit.
func (v *VCS) String() string {
	s := "git+" + v.URL + "@" + v.Commit
	if v.Subdirectory != "" {
		s += "#subdirectory=" + v.Subdirectory
	}
	return s
}

var fullCommit = regexp.MustCompile(`^[0-9a-f]{40}$`)

// git runs a git command and returns its trimmed output; errors carry
// git's own message.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=true", "LC_ALL=C")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return "", fmt.Errorf("git is needed for VCS requirements: %w", err)
		}
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("git %s: %s", args[0], msg)
	}
	return strings.TrimSpace(out.String()), nil
}

// resolveRev turns a branch, tag or commit into a full commit id with
// git ls-remote, so the lock pins exactly what was built.
func resolveRev(ctx context.Context, url, rev string) (string, error) {
	if fullCommit.MatchString(rev) {
		return rev, nil
	}
	want := rev
	if want == "" {
		want = "HEAD"
	}
	out, err := git(ctx, "", "ls-remote", url, want, "refs/heads/"+want, "refs/tags/"+want, "refs/tags/"+want+"^{}")
	if err != nil {
		return "", fmt.Errorf("resolving %s@%s: %w", url, rev, err)
	}
	commits := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		sha, ref, ok := strings.Cut(line, "\t")
		if ok {
			commits[ref] = sha
		}
	}
	// An annotated tag's commit is behind "^{}".
	for _, ref := range []string{"refs/tags/" + want + "^{}", "refs/tags/" + want, "refs/heads/" + want, want} {
		if sha, ok := commits[ref]; ok {
			return sha, nil
		}
	}
	// A short commit id is not advertised; leave it to the checkout.
	if regexp.MustCompile(`^[0-9a-f]{7,39}$`).MatchString(rev) {
		return rev, nil
	}
	return "", fmt.Errorf("resolving %s@%s: no branch, tag or commit named %q", url, rev, rev)
}

// checkout makes a copy of the repository at commit in the cache and
// returns its folder. A shallow fetch of the one commit is tried first;
// servers that refuse to serve an unadvertised commit get a full clone.
func checkout(ctx context.Context, cacheDir, url, commit string) (string, error) {
	sum := sha256.Sum256([]byte(url))
	dir := filepath.Join(cacheDir, "git", hex.EncodeToString(sum[:8]), commit)
	if _, err := os.Stat(filepath.Join(dir, ".larder-complete")); err == nil {
		return dir, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	steps := [][]string{{"init", "-q"}, {"fetch", "-q", "--depth=1", url, commit}, {"checkout", "-q", "FETCH_HEAD"}}
	for _, s := range steps {
		if _, err := git(ctx, dir, s...); err != nil {
			if s[0] != "fetch" {
				return "", err
			}
			if _, err := git(ctx, dir, "fetch", "-q", url, "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"); err != nil {
				return "", fmt.Errorf("fetching %s: %w", url, err)
			}
			if _, err := git(ctx, dir, "checkout", "-q", commit); err != nil {
				return "", fmt.Errorf("%s has no commit %s: %w", url, commit, err)
			}
			break
		}
	}
	full, err := git(ctx, dir, "rev-parse", "HEAD")
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(full, commit) {
		return "", fmt.Errorf("checked out %s but asked for %s", full, commit)
	}
	if err := os.WriteFile(filepath.Join(dir, ".larder-complete"), []byte(full+"\n"), 0o644); err != nil {
		return "", err
	}
	return dir, nil
}

// forkMetadata reads the metadata of a source tree: static PEP 621 data
// from pyproject.toml when it has all we need, else the PEP 517 hook.
func forkMetadata(ctx context.Context, python, src string) ([]byte, error) {
	if b, err := os.ReadFile(filepath.Join(src, "pyproject.toml")); err == nil {
		if raw, ok := dist.StaticProjectMetadata(b); ok {
			return raw, nil
		}
	}
	raw, err := pep517.Metadata(ctx, python, src)
	if err != nil {
		return nil, fmt.Errorf("its metadata is not static in pyproject.toml, and the build backend failed: %w", err)
	}
	return raw, nil
}

// resolveVCS pins a VCS requirement to a commit and reads its metadata.
func resolveVCS(ctx context.Context, cacheDir, python string, v *VCS) (*dist.Metadata, []byte, error) {
	commit, err := resolveRev(ctx, v.URL, v.Rev)
	if err != nil {
		return nil, nil, err
	}
	dir, err := checkout(ctx, cacheDir, v.URL, commit)
	if err != nil {
		return nil, nil, err
	}
	if len(commit) < 40 {
		if commit, err = git(ctx, dir, "rev-parse", "HEAD"); err != nil {
			return nil, nil, err
		}
	}
	v.Commit = commit
	src := dir
	if v.Subdirectory != "" {
		src = filepath.Join(dir, filepath.FromSlash(v.Subdirectory))
	}
	raw, err := forkMetadata(ctx, python, src)
	if err != nil {
		return nil, nil, fmt.Errorf("%s@%s: %w", v.URL, commit[:12], err)
	}
	md, err := dist.ParseMetadata(bytes.NewReader(raw))
	if err != nil {
		return nil, nil, fmt.Errorf("%s@%s: metadata: %w", v.URL, commit[:12], err)
	}
	return md, raw, nil
}
