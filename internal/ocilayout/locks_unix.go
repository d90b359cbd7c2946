//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package ocilayout

// locksWork says that flock(2) is there: a lock granted means no other
// holder, so a staging folder whose lock is granted is provably dead.
const locksWork = true
