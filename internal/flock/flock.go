// Package flock is larder's flock(2) locks, and the open flags its
// careful opens need, written once for the systems that have them and
// once for those that do not: a wheelhouse's locks (package wheelhouse),
// an OCI layout's (package ocilayout), and the reads of package
// readlimit.
//
// A lock belongs to an open file: closing it releases the lock, and so
// does the death of its process, however it dies. Where flock(2) is
// missing every lock is granted (Works is false): one writer at a time
// is then the caller's duty.
package flock

import (
	"context"
	"fmt"
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
