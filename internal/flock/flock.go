// Package flock is larder's flock(2) locks, the careful open of a lock
// file (Open), and the open flags careful opens need, written once for
// the systems that have them and once for those that do not: a
// wheelhouse's locks (package wheelhouse), an OCI layout's (package
// ocilayout), a git cache's checkouts (package gitsrc), and the reads of
// package readlimit.
//
// A lock belongs to an open file: closing it releases the lock, and so
// does the death of its process, however it dies. Where flock(2) is
// missing every lock is granted (Works is false): one writer at a time
// is then the caller's duty.
package flock

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// Poll is how often Wait looks again at a lock another process holds:
// flock has no timeout, so waits poll with LOCK_NB to stay cancellable.
const Poll = 25 * time.Millisecond

// TryLock takes a lock on f, shared or exclusive, without waiting, and
// reports whether it got it. What a refused change of the lock f holds
// (shared to exclusive) leaves differs: Linux has dropped the old one,
// the BSDs and macOS keep it; Unlock first where that matters.
func TryLock(f *os.File, exclusive bool) (bool, error) { return tryLock(f, exclusive) }

// Wait takes a lock on f, shared or exclusive, polling until ctx ends.
func Wait(ctx context.Context, f *os.File, exclusive bool) error {
	t := time.NewTicker(Poll)
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

// LockExclusive takes an exclusive lock on f, waiting for it however
// long: for locks held only for a short, bounded piece of work.
func LockExclusive(f *os.File) error { return lockExclusive(f) }

// Unlock lets go of the lock on f and keeps f open.
func Unlock(f *os.File) error { return unlock(f) }

// LockFileMode is the mode lock files are made with, under the umask:
// with a umask of 002 a group sharing the folder can write them, with
// the usual 022 other users lock them read-only (Open), and they are
// never writable by everyone, whatever the umask.
const LockFileMode = 0o664

// Open opens the lock file at path, never through a symbolic link:
// for reading and writing, made (LockFileMode under the umask) when
// create is set and it is missing; read-only when this user may not
// write it (EACCES, EPERM, or EROFS on a read-only mount), which
// flock(2) locks all the same: for a folder this user may only read.
func Open(path string, create bool) (*os.File, error) {
	return open(path, create, true)
}

// OpenWritable opens the lock file at path as Open does, making it when
// it is missing, but only for reading and writing: for a folder the
// holder writes into, where a lock file this user may not write says,
// before any work, that the folder is not theirs to write.
func OpenWritable(path string) (*os.File, error) {
	return open(path, true, false)
}

func open(path string, create, readOnly bool) (*os.File, error) {
	flags := os.O_RDWR | NoFollow
	if create {
		flags |= os.O_CREATE
	}
	f, err := os.OpenFile(path, flags|Nonblock, LockFileMode)
	if readOnly && err != nil && (errors.Is(err, fs.ErrPermission) || IsReadOnlyFS(err)) {
		var rerr error
		f, rerr = os.OpenFile(path, os.O_RDONLY|NoFollow|Nonblock, 0)
		if errors.Is(rerr, fs.ErrNotExist) {
			return nil, err // why it could not be made
		}
		err = rerr
	}
	if err != nil {
		return nil, err
	}
	// Opened without waiting (a named pipe planted as the lock file
	// would block an open forever), and only a regular file is a lock.
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = fmt.Errorf("%s is not a regular file: remove it", path)
		}
		return nil, err
	}
	return f, nil
}
