//go:build !linux

package serve

import (
	"net"
	"os"
)

// openFile opens a store file for reading, refusing a symbolic link (a
// check before the open, where O_NOFOLLOW is not at hand).
func openFile(name string) (*os.File, error) {
	fi, err := os.Lstat(name)
	if err != nil {
		return nil, err
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		return nil, &os.PathError{Op: "open", Path: name, Err: errNotRegular}
	}
	return os.Open(name)
}

// openServed opens a store file for serveLocal: openRegular's file and
// its size.
func openServed(name string) (servedFile, int64, error) {
	f, fi, err := openRegular(name)
	if err != nil {
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// cork does nothing where TCP_CORK does not exist.
func cork(net.Conn) func() { return func() {} }
