package fetch

import (
	"io/fs"
	"os"

	"github.com/larder-build/larder/wheelhouse"
)

// Files shared between the user cache and stores.
//
// A wheelhouse file and its copy in the user cache share their blocks
// when they can: a reflink (FICLONE) on file systems that have it (btrfs,
// XFS), which is a copy as far as writes go; else a hard link, which
// saves the disk a large closure would take twice but is one file under
// two names. A hard-linked file therefore has no write bits: a tool or a
// user editing one wheelhouse in place gets "permission denied" instead
// of silently corrupting the cache and every other wheelhouse that links
// it. (Root ignores mode bits; what it corrupts, verify reports and fetch
// never links again, since the cache is re-hashed before every link.)

// umaskedMode returns the mode a new file created with 0644 gets here:
// 0644 under the umask. Asked of the file system rather than read with
// umask(2), which would have to set the umask to read it, racing every
// other goroutine that creates files.
func umaskedMode(dir string) fs.FileMode {
	f, err := wheelhouse.CreateTemp(dir, ".mode-*.tmp", 0o644)
	if err != nil {
		return 0o644
	}
	defer os.Remove(f.Name())
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0o644
	}
	return st.Mode().Perm()
}

// sharedMode is the mode of a file shared by a hard link: readable as a
// new file would be, and by nobody writable.
func (f *fetcher) sharedMode(old fs.FileMode) fs.FileMode {
	return (old.Perm() | f.mode&0o444) &^ 0o222
}

// linkShared makes dst a file with src's content that shares src's
// blocks: a reflink when the file system has them, else a hard link to
// src made read-only first. An error means neither worked (another file
// system, a cache file of another user): the caller copies.
func (f *fetcher) linkShared(src, dst string) error {
	if reflink(src, dst) == nil {
		return nil
	}
	st, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return &wheelhouse.NotRegularError{Path: src, Mode: st.Mode()}
	}
	if want := f.sharedMode(st.Mode()); st.Mode().Perm() != want {
		if err := os.Chmod(src, want); err != nil {
			return err
		}
	}
	return os.Link(src, dst)
}

// fixMode repairs the mode of a file already in the store (from an older
// larder, or linked by hand): readable as a new file would be, and not
// writable when another name shares it.
func (f *fetcher) fixMode(path string, st fs.FileInfo) {
	want := st.Mode().Perm() | f.mode&0o444
	if linkCount(st) > 1 {
		want = f.sharedMode(st.Mode())
	}
	if want != st.Mode().Perm() {
		_ = os.Chmod(path, want)
	}
}
