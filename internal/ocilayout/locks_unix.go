//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package ocilayout

import (
	"errors"
	"os"
	"syscall"
)

// locksWork says that flock(2) is there: a lock granted means no other
// holder, so a staging folder whose lock is granted is provably dead.
const locksWork = true

// oNoFollow makes an open fail on a symbolic link.
const oNoFollow = syscall.O_NOFOLLOW

// isReadOnlyFS says that err is a write refused by a read-only mount.
func isReadOnlyFS(err error) bool { return errors.Is(err, syscall.EROFS) }

// unlock lets go of the flock(2) lock on f and keeps f open.
func unlock(f *os.File) error {
	for range 100 { // EINTR is a signal, not an answer
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_UN); !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
	return syscall.EINTR
}
