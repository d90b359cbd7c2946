package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// commitID is a full git object id (SHA-1 or SHA-256): anything shorter,
// and any branch or tag name, could name a different tree tomorrow.
var commitID = regexp.MustCompile(`^(?:[0-9a-f]{40}|[0-9a-f]{64})$`)

// git runs a git command in dir and returns its trimmed output; errors
// carry git's own message.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=true", "SSH_ASKPASS=true", "LC_ALL=C")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return "", fmt.Errorf("git is needed to build forks: %w", err)
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

// checkout returns a checkout of url at commit in the cache, fetching it
// when it is not there yet. A shallow fetch of the one commit is tried
// first; servers that refuse unadvertised commits get a full fetch. The
// checkout is made in a temporary folder and renamed into place, so a
// checkout under its real name is always complete.
func checkout(ctx context.Context, cacheDir, url, commit string) (string, error) {
	sum := sha256.Sum256([]byte(url))
	parent := filepath.Join(cacheDir, "git", hex.EncodeToString(sum[:8]))
	dir := filepath.Join(parent, commit)
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		return dir, nil
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(parent, ".tmp-"+commit[:12]+"-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if _, err := git(ctx, tmp, "-c", "init.defaultBranch=larder", "init", "-q"); err != nil {
		return "", err
	}
	if _, err := git(ctx, tmp, "fetch", "-q", "--depth=1", url, commit); err != nil {
		if ctx.Err() != nil {
			return "", err
		}
		if _, err := git(ctx, tmp, "fetch", "-q", url, "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"); err != nil {
			return "", fmt.Errorf("fetching %s: %w", url, err)
		}
	}
	if _, err := git(ctx, tmp, "cat-file", "-e", commit+"^{commit}"); err != nil {
		return "", errors.New("the repository has no such commit")
	}
	if _, err := git(ctx, tmp, "-c", "advice.detachedHead=false", "checkout", "-q", "--detach", commit); err != nil {
		return "", err
	}
	head, err := git(ctx, tmp, "rev-parse", "HEAD")
	if err != nil {
		return "", err
	}
	if head != commit {
		return "", fmt.Errorf("checked out %s but asked for %s", head, commit)
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another build may have finished the same checkout first.
		if st, serr := os.Stat(dir); serr == nil && st.IsDir() {
			return dir, nil
		}
		return "", err
	}
	return dir, nil
}

// copyTree copies src into dst (which must not exist) with regular files,
// folders and symbolic links. Builds write into their source tree (build/,
// *.egg-info), so the cached checkout is never built in place; .git comes
// along because version plugins such as setuptools-scm read it.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case info.Mode().IsRegular():
			return copyFile(path, target, info.Mode().Perm()|0o600)
		default:
			return nil // sockets and devices have no place in a source tree
		}
	})
}

// copyFile copies src to dst, replacing dst.
func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// copyFileAtomic copies src to dst through a temporary file in dst's
// folder, so dst is either absent, the old file or the whole new one.
func copyFileAtomic(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = io.Copy(tmp, in); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// fileSHA256 returns the hex sha256 of a file.
func fileSHA256(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
