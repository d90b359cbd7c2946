package serve

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// uploadFile reads an upload kept on this server's disk, for the archive
// readers: a read of the file that fails is a *diskReadError, the
// server's fault, not the upload's. (Offsets an archive names outside
// itself never reach the file: readlimit.OpenZip reads within its size.)
type uploadFile struct{ f *os.File }

func (u uploadFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := u.f.ReadAt(p, off)
	return n, diskRead(err)
}

func (u uploadFile) Read(p []byte) (int, error) {
	n, err := u.f.Read(p)
	return n, diskRead(err)
}

func diskRead(err error) error {
	if err != nil && err != io.EOF {
		return &diskReadError{err}
	}
	return err
}

// diskReadError is a read of an upload that failed on the server's disk.
type diskReadError struct{ err error }

func (e *diskReadError) Error() string { return e.err.Error() }
func (e *diskReadError) Unwrap() error { return e.err }

// refuse refuses an upload with status and a message for the client,
// unless an error among args is the server's disk failing to read it:
// that is the server's to answer for (a 500), not the upload's.
func refuse(status int, format string, args ...any) error {
	for _, a := range args {
		if err, ok := a.(error); ok {
			if de := (*diskReadError)(nil); errors.As(err, &de) {
				return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), de)
			}
		}
	}
	return &uploadError{status: status, msg: fmt.Sprintf(format, args...)}
}
