package layers

import (
	"fmt"
	"io/fs"
	"syscall"
	"time"
)

// identity names a file's content as the file system knows it without
// reading it: device, inode, size, and modification and change times to
// the nanosecond (no one sets a change time but the kernel).
func identity(st fs.FileInfo) string {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok || !st.Mode().IsRegular() {
		return ""
	}
	return fmt.Sprintf("%d:%d:%d:%d.%09d:%d.%09d", s.Dev, s.Ino, s.Size, s.Mtim.Sec, s.Mtim.Nsec, s.Ctim.Sec, s.Ctim.Nsec)
}

// changed is a file's change time.
func changed(st fs.FileInfo) time.Time {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return time.Unix(s.Ctim.Sec, s.Ctim.Nsec)
	}
	return time.Now()
}
