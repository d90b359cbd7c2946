//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package wheelhouse

import (
	"errors"
	"os"
	"syscall"
)

// oNoFollow makes an open fail on a symbolic link.
const oNoFollow = syscall.O_NOFOLLOW

// tryLock takes a flock(2) lock without waiting and reports whether it
// got it. The lock belongs to the open file: closing f releases it, and so
// does the death of the process, however it dies.
func tryLock(f *os.File, exclusive bool) (bool, error) {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for range 100 { // EINTR is a signal, not an answer
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		case errors.Is(err, syscall.EINTR):
			continue
		default:
			return false, err
		}
	}
	return false, syscall.EINTR
}

// lockBlocking takes an exclusive lock, waiting for it.
func lockBlocking(f *os.File) error {
	for range 100 {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
	return syscall.EINTR
}

// unlock releases a lock and keeps the file open.
func unlock(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
