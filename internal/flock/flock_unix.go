//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package flock

import (
	"errors"
	"os"
	"syscall"
)

// Works says that flock(2) is there: a lock granted means no other
// holder.
const Works = true

// Open flags: NoFollow makes an open fail on a symbolic link, Nonblock
// keeps an open of a named pipe from waiting for a writer.
const (
	NoFollow = syscall.O_NOFOLLOW
	Nonblock = syscall.O_NONBLOCK
)

// IsReadOnlyFS says that err is a write refused by a read-only mount.
func IsReadOnlyFS(err error) bool { return errors.Is(err, syscall.EROFS) }

// flock calls flock(2) again when a signal interrupts it: EINTR is no
// answer.
func flock(f *os.File, how int) error {
	for range 100 {
		if err := syscall.Flock(int(f.Fd()), how); !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
	return syscall.EINTR
}

func tryLock(f *os.File, exclusive bool) (bool, error) {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	switch err := flock(f, how|syscall.LOCK_NB); {
	case err == nil:
		return true, nil
	case errors.Is(err, syscall.EWOULDBLOCK):
		return false, nil
	default:
		return false, err
	}
}

func lockExclusive(f *os.File) error { return flock(f, syscall.LOCK_EX) }

func unlock(f *os.File) error { return flock(f, syscall.LOCK_UN) }
