package fetch

import (
	"io/fs"
	"os"
	"syscall"
)

// ficlone is FICLONE from linux/fs.h: share src's extents with dst.
const ficlone = 0x40049409

// reflink makes dst a copy-on-write clone of src, or fails on a file
// system without reflinks (ext4, tmpfs) and across file systems.
func reflink(src, dst string) error {
	in, out, err := openForCopy(src, dst)
	if err != nil {
		return err
	}
	defer in.Close()
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, out.Fd(), ficlone, in.Fd())
	cerr := out.Close()
	if errno != 0 || cerr != nil {
		os.Remove(dst)
		if errno != 0 {
			return errno
		}
		return cerr
	}
	return nil
}

// linkCount is how many names a file has.
func linkCount(st fs.FileInfo) uint64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return uint64(s.Nlink)
	}
	return 1
}
