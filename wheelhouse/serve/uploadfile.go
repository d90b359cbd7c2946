package serve

import (
	"errors"
	"fmt"
	"io"
)

// uploadFile reads an upload kept on this server's disk, for the archive
// readers: a read of the file that fails is a *diskReadError, the
// server's fault, not the upload's, and the first is kept as fault. The
// archive readers do not pass every failed read on (archive/zip takes a
// failed probe for its directory as a sign of a zip not at offset 0,
// then finds no directory; a read ahead of what is needed may fail
// unseen), so what they make of an upload after one is not a verdict on
// it. (Offsets an archive names outside itself never reach the file:
// readlimit.OpenZip reads within its size.) One goroutine reads it.
type uploadFile struct {
	f     uploadSource
	fault error // the first read that failed, a *diskReadError
}

// uploadSource is what an upload is read from: its file on disk.
type uploadSource interface {
	io.Reader
	io.ReaderAt
}

func (u *uploadFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := u.f.ReadAt(p, off)
	return n, u.diskRead(err)
}

func (u *uploadFile) Read(p []byte) (int, error) {
	n, err := u.f.Read(p)
	return n, u.diskRead(err)
}

// diskRead tags a read's error, other than io.EOF, as the disk's, and
// keeps the first.
func (u *uploadFile) diskRead(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	de := &diskReadError{err}
	if u.fault == nil {
		u.fault = de
	}
	return de
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
