package wheelhouse

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
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

// lockPoll is how often a wait for a lock held by another process looks
// again; flock has no timeout, so waits poll with LOCK_NB to stay
// cancellable.
const lockPoll = 25 * time.Millisecond

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
	if ok {
		s.cleanTemporary()
		// Downgrading drops the lock for a moment; gc may slip in, which
		// is harmless: this writer has written nothing yet.
		if err := unlock(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("locking wheelhouse %s: %w", s.dir, err)
		}
	}
	if err := waitLock(ctx, f, false); err != nil {
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
	if ok, err = tryLock(f, true); err != nil {
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
	if err := lockBlocking(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking the manifest of %s: %w", s.dir, err)
	}
	return func() { f.Close() }, nil
}

func (s *Store) openLockFile(name string) (*os.File, error) {
	// O_NOFOLLOW: a lock file planted as a link must not make larder
	// create or truncate a file elsewhere.
	return OpenLockFile(filepath.Join(s.dir, name))
}

// OpenLockFile opens the lock file at path, creating it (mode 0644) when
// missing and refusing a symbolic link, for another folder larder writes
// under the store's discipline (an OCI layout). Closing the file releases
// any lock taken on it.
func OpenLockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE|oNoFollow, 0o644)
}

// TryLockFile takes a flock(2) lock on f, shared or exclusive, without
// waiting, and reports whether it got it. What a refused change of the
// lock f holds (shared to exclusive) leaves differs: Linux has dropped
// the old one, the BSDs and macOS keep it; unlock first where that
// matters. The kernel releases it when f is closed or its process
// dies, however it dies. Where flock(2) is missing it always succeeds.
func TryLockFile(f *os.File, exclusive bool) (bool, error) { return tryLock(f, exclusive) }

// WaitLockFile takes a flock(2) lock on f, polling until ctx ends.
func WaitLockFile(ctx context.Context, f *os.File, exclusive bool) error {
	return waitLock(ctx, f, exclusive)
}

// waitLock takes the lock, polling until ctx ends.
func waitLock(ctx context.Context, f *os.File, exclusive bool) error {
	t := time.NewTicker(lockPoll)
	defer t.Stop()
	for {
		ok, err := tryLock(f, exclusive)
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for another larder process: %w", context.Cause(ctx))
		case <-t.C:
		}
	}
}

// cleanTemporary removes what interrupted writes leave: temporary files
// in files/ and simple/ (every one starts with a dot) and temporary
// manifests. Only a holder of the exclusive writers lock may call it; it
// takes the manifest lock too, since a Commit (Create's first one, a
// server's cache) writes under that lock alone.
func (s *Store) cleanTemporary() {
	release, err := s.lockManifest()
	if err != nil {
		return
	}
	defer release()
	dir := s.dir
	if ents, err := os.ReadDir(filepath.Join(dir, FilesDir)); err == nil {
		for _, d := range ents {
			if IsTemporary(d.Name()) {
				_ = os.RemoveAll(filepath.Join(dir, FilesDir, d.Name()))
			}
		}
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
	root := filepath.Join(dir, SimpleDir)
	ents, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, d := range ents {
		if IsTemporary(d.Name()) {
			_ = os.RemoveAll(filepath.Join(root, d.Name()))
			continue
		}
		if !d.IsDir() {
			continue
		}
		if sub, err := os.ReadDir(filepath.Join(root, d.Name())); err == nil {
			for _, e := range sub {
				if IsTemporary(e.Name()) {
					_ = os.RemoveAll(filepath.Join(root, d.Name(), e.Name()))
				}
			}
		}
	}
}
