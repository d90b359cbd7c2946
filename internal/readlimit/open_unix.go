//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package readlimit

import "syscall"

// oNoFollow makes an open fail on a symbolic link.
const oNoFollow = syscall.O_NOFOLLOW

// oNonblock keeps an open of a named pipe from waiting for a writer.
const oNonblock = syscall.O_NONBLOCK
