package serve

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// errNotRegular is a store file that is a link, a folder, a device or a
// FIFO: the servers serve regular files only, so that a link planted in
// files/ never serves something from outside the wheelhouse under the
// sha256 and the immutable caching of the file it replaced.
var errNotRegular = errors.New("not a regular file")

// openRegular opens a store file that is a regular file, not a link to
// one, and returns it with its FileInfo from the open descriptor.
func openRegular(name string) (*os.File, os.FileInfo, error) {
	f, err := openFile(name)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, &os.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w (%s)", errNotRegular, fi.Mode().Type())}
	}
	return f, fi, nil
}

// servedFile is a store file as serveLocal sends it: whole (to sendfile,
// where the platform has it) or through http.ServeContent.
type servedFile interface {
	io.ReadSeekCloser
}

// linkedFilesDir reports whether a store's files/ folder is a link (or not
// a folder): its files are then outside the wheelhouse, and none is served.
func linkedFilesDir(filesDir string) bool {
	fi, err := os.Lstat(filesDir)
	return err == nil && !fi.IsDir()
}

// isLink reports whether err says a path was a link or not regular.
func isLink(err error) bool {
	return errors.Is(err, errNotRegular) || errors.Is(err, syscall.ELOOP)
}
