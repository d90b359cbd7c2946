package wheelhouse

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/larder-build/larder/internal/flock"
)

// Lock files at the top of a store. Two files, because flock(2) cannot
// hold a shared and an exclusive lock on one file at once:
//
//   - writersLockName is held shared by every writer (fetch, a server's
//     cache) for as long as it writes, and exclusively by gc, which
//     removes files no manifest lists yet and temporary files, and so
//     must not run while anyone else writes.
//   - manifestLockName is held exclusively for the moment of a Commit or
//     a WriteStatic: the manifest is re-read, merged and written, and the
//     static index rewritten, by one process at a time.
const (
	writersLockName  = ".lock"
	manifestLockName = ".manifest.lock"
)

// BusyError reports a store that another process is writing to.
type BusyError struct{ Dir string }

// Error names the store.
func (e *BusyError) Error() string {
	return fmt.Sprintf("wheelhouse %s is in use by another larder process", e.Dir)
}

// BeginWrite registers the caller as a writer of the store until release
// is called: other writers may write at once (Commit merges their
// manifests), gc waits. When no other writer is live, temporary files
// that dead writers (a kill -9, a power cut) left behind are removed
// first: with the exclusive lock held, no live process can own them. It
// waits while gc runs, until ctx ends.
func (s *Store) BeginWrite(ctx context.Context) (release func(), err error) {
	f, ok, err := s.tryWritersExclusive()
	if err != nil {
		return nil, err
	}
	// Checked again now that the store is locked: a link may have been
	// put in place of a folder since Open.
	if err := s.CheckFolders(); err != nil {
		f.Close()
		return nil, err
	}
	if ok {
		s.cleanTemporary()
		// Downgrading drops the lock for a moment; gc may slip in, which
		// is harmless: this writer has written nothing yet.
		if err := flock.Unlock(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("locking wheelhouse %s: %w", s.dir, err)
		}
	}
	if err := flock.Wait(ctx, f, false); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking wheelhouse %s: %w", s.dir, err)
	}
	return func() { f.Close() }, nil
}

// LockExclusive makes the caller the only writer of the store until
// release is called, or fails at once with a *BusyError when another
// process writes to it: for gc, which removes what no manifest lists
// (temporary files of dead writers included, which it reports).
func (s *Store) LockExclusive() (release func(), err error) {
	f, ok, err := s.tryWritersExclusive()
	if err != nil {
		return nil, err
	}
	if !ok {
		f.Close()
		return nil, &BusyError{Dir: s.dir}
	}
	if err := s.CheckFolders(); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// tryWritersExclusive opens the writers' lock and tries to take it
// alone, without waiting; ok says whether it did. The file stays open
// (holding the lock when ok) unless there is an error.
func (s *Store) tryWritersExclusive() (f *os.File, ok bool, err error) {
	f, err = s.openLockFile(writersLockName)
	if err != nil {
		return nil, false, fmt.Errorf("locking wheelhouse %s: %w", s.dir, err)
	}
	if ok, err = flock.TryLock(f, true); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("locking wheelhouse %s: %w", s.dir, err)
	}
	return f, ok, nil
}

// lockManifest holds the manifest lock until release is called. Holders
// keep it for one Commit or WriteStatic, so a plain blocking wait is
// bounded by their work.
func (s *Store) lockManifest() (release func(), err error) {
	f, err := s.openLockFile(manifestLockName)
	if err != nil {
		return nil, fmt.Errorf("locking the manifest of %s: %w", s.dir, err)
	}
	if err := flock.LockExclusive(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking the manifest of %s: %w", s.dir, err)
	}
	return func() { f.Close() }, nil
}

func (s *Store) openLockFile(name string) (*os.File, error) {
	// Never through a link (a lock file planted as one must not make
	// larder create a file elsewhere), group-writable under umask 002 so
	// that a team's wheelhouse (a folder of their group) takes each
	// member's fetches. Every holder writes: a lock file this user may
	// not write is the first sign the wheelhouse is not theirs to write.
	return flock.OpenWritable(filepath.Join(s.dir, name))
}

// cleanTemporary removes what interrupted writes leave: temporary files
// in files/ and simple/ (every one starts with a dot) and temporary
// manifests. Only a holder of the exclusive writers lock may call it; it
// takes the manifest lock too, since a Commit (Create's first one, a
// server's cache) writes under that lock alone. files/ and simple/ are
// read and cleaned through an *os.Root each (openFolder): a folder that
// is a link is left alone, and nothing outside it is removed.
func (s *Store) cleanTemporary() {
	release, err := s.lockManifest()
	if err != nil {
		return
	}
	defer release()
	dir := s.dir
	if r, err := s.openFolder(FilesDir); err == nil {
		removeTemporary(r)
		r.Close()
	}
	if ents, err := os.ReadDir(dir); err == nil {
		for _, d := range ents {
			n := d.Name()
			// Only names the store makes: a wheelhouse may hold a
			// .gitignore or a .dockerignore of the user's.
			if IsTemporary(n) && !d.IsDir() && (strings.HasSuffix(n, ".tmp") || strings.HasPrefix(n, reservePrefix)) {
				_ = os.Remove(filepath.Join(dir, n))
			}
		}
	}
	r, err := s.openFolder(SimpleDir)
	if err != nil {
		return
	}
	defer r.Close()
	removeTemporary(r)
	ents, err := readRootDir(r)
	if err != nil {
		return
	}
	for _, d := range ents {
		if !d.IsDir() || IsTemporary(d.Name()) {
			continue // a link is not followed
		}
		if sub, err := r.OpenRoot(d.Name()); err == nil {
			removeTemporary(sub)
			sub.Close()
		}
	}
}

// removeTemporary removes the temporary files and folders (IsTemporary)
// of the folder of r, never outside it.
func removeTemporary(r *os.Root) {
	ents, err := readRootDir(r)
	if err != nil {
		return
	}
	for _, d := range ents {
		if IsTemporary(d.Name()) {
			_ = r.RemoveAll(d.Name())
		}
	}
}
