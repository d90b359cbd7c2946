//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package ocilayout

import "os"

// locksWork says that flock(2) is missing here: every lock is granted, so
// a staging folder's lock proves nothing and only its age counts.
const locksWork = false

// oNoFollow is not available: opens follow links here.
const oNoFollow = 0

// isReadOnlyFS cannot tell a read-only mount here.
func isReadOnlyFS(error) bool { return false }

// unlock has no lock to let go of here.
func unlock(*os.File) error { return nil }
