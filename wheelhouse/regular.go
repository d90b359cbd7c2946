package wheelhouse

import (
	"fmt"
	"io/fs"
	"os"

	"github.com/larder-build/larder/internal/readlimit"
)

// NotRegularError is a path of a store that is not a regular file: a
// symbolic link (which the store never follows: it could point out of the
// wheelhouse), a folder, a named pipe, a device.
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

// Error names the path and what it is.
func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s is %s, not a regular file", e.Path, describeMode(e.Mode))
}

// describeMode says what kind of file a mode is, for a message.
func describeMode(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m.IsRegular():
		return "a regular file"
	}
	return "a special file"
}

// OpenRegular opens a file of a store for reading, refusing with a
// *NotRegularError anything but a regular file: a symbolic link is not
// followed (O_NOFOLLOW), and a named pipe is opened without blocking and
// refused.
func OpenRegular(path string) (*os.File, error) {
	f, _, err := OpenRegularSize(path)
	return f, err
}

// OpenRegularSize is OpenRegular that also returns the size of the file
// it opened, from the check of its descriptor, for the callers that hand
// the file to a zip reader or an upload.
func OpenRegularSize(path string) (*os.File, int64, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|oNoFollow|oNonblock, 0)
	if err != nil {
		// O_NOFOLLOW on a link fails with ELOOP: say what it is instead.
		if st, lerr := os.Lstat(path); lerr == nil && !st.Mode().IsRegular() {
			return nil, 0, &NotRegularError{Path: path, Mode: st.Mode()}
		}
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, &NotRegularError{Path: path, Mode: st.Mode()}
	}
	return f, st.Size(), nil
}

// HashRegularFile is HashFile for a file of a store: it refuses anything
// but a regular file (OpenRegular).
func HashRegularFile(path string) (string, int64, error) {
	f, _, err := OpenRegularSize(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	return hashReader(f)
}

// readNoFollow reads a regular file of at most limit bytes.
func readNoFollow(path string, limit int64) ([]byte, error) {
	f, _, err := OpenRegularSize(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := readlimit.ReadAll(f, limit)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return b, nil
}

// ReadRegular reads a small regular file of a store (a sidecar), refusing
// links as OpenRegular does.
func ReadRegular(path string) ([]byte, error) { return readNoFollow(path, maxMetadata) }
