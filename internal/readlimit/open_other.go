//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package readlimit

// Neither is available here: opens follow links, and the check of the
// opened file is all that refuses a special one.
const (
	oNoFollow = 0
	oNonblock = 0
)
