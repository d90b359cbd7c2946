//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package wheelhouse

import (
	"io/fs"
	"os"
	"syscall"
)

// readDirTypes lists a folder opened in an *os.Root with each entry's
// type as the listing itself gives it (d_type). os lstats every entry of
// a folder opened in a Root, one system call per project; simple/ of a
// store has thousands. A copy of the descriptor, as a plain file, reads
// the same folder without them; an entry whose type the file system does
// not give is still looked at, relative to the descriptor, never by path.
// The entries' Info is never asked for: it would go by path.
func readDirTypes(d *os.File) ([]fs.DirEntry, error) {
	syscall.ForkLock.RLock()
	fd, err := syscall.Dup(int(d.Fd()))
	if err == nil {
		syscall.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return d.ReadDir(-1)
	}
	f := os.NewFile(uintptr(fd), d.Name())
	defer f.Close()
	return f.ReadDir(-1)
}
