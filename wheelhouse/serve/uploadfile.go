package serve

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// uploadFile reads an upload kept on this server's disk, for the archive
// readers. An archive names offsets into itself, and archive/zip reads
// where they point without checking them: here an offset outside the
// file reads as its end, never reaching the operating system, whose
// answer to an offset near 2^63 (EINVAL, "negative offset") would look
// like a failing disk. A read of the file that fails is a
// *diskReadError: the server's fault, not the upload's.
type uploadFile struct {
	f    *os.File
	size int64
}

// ReadAt reads as a bytes.Reader of the file's size would.
func (u uploadFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= u.size {
		return 0, io.EOF
	}
	short := int64(len(p)) > u.size-off
	if short {
		p = p[:u.size-off]
	}
	n, err := u.f.ReadAt(p, off)
	if err != nil && err != io.EOF {
		return n, &diskReadError{err}
	}
	if short && err == nil {
		err = io.EOF
	}
	return n, err
}

// uploadStream reads an upload on this server's disk from its start,
// for the stream readers (gzip): a read that fails is a *diskReadError.
type uploadStream struct{ f *os.File }

func (u uploadStream) Read(p []byte) (int, error) {
	n, err := u.f.Read(p)
	if err != nil && err != io.EOF {
		return n, &diskReadError{err}
	}
	return n, err
}

// diskReadError is a read of an upload that failed on the server's disk.
type diskReadError struct{ err error }

func (e *diskReadError) Error() string { return e.err.Error() }
func (e *diskReadError) Unwrap() error { return e.err }

// diskFault returns, when err says the server's disk failed to read an
// upload, the error to answer with (a 500); nil when the fault, if any,
// is the upload's.
func diskFault(filename string, err error) error {
	var de *diskReadError
	if errors.As(err, &de) {
		return fmt.Errorf("reading %s: %w", filename, err)
	}
	return nil
}
