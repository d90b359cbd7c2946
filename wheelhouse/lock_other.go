//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package wheelhouse

import "os"

// oNoFollow is not available: opens follow links here.
const oNoFollow = 0

// Without flock(2), locks always succeed: one process per store at a time
// is then the caller's duty, as it was before stores were locked.
func tryLock(*os.File, bool) (bool, error) { return true, nil }

func lockBlocking(*os.File) error { return nil }

func unlock(*os.File) error { return nil }
