//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package flock

import "os"

// Works says that flock(2) is missing here: every lock is granted.
const Works = false

// Neither open flag is available here: opens follow links, and an open
// of a named pipe may wait.
const (
	NoFollow = 0
	Nonblock = 0
)

// IsReadOnlyFS cannot tell a read-only mount here.
func IsReadOnlyFS(error) bool { return false }

func tryLock(*os.File, bool) (bool, error) { return true, nil }

func lockExclusive(*os.File) error { return nil }

func unlock(*os.File) error { return nil }
