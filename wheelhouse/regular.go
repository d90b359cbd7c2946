package wheelhouse

import (
	"os"

	"github.com/larder-build/larder/internal/readlimit"
)

// NotRegularError is a path of a store that is not a regular file: a
// symbolic link (which the store never follows: it could point out of the
// wheelhouse), a folder, a named pipe, a device.
type NotRegularError = readlimit.NotRegularError

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
	return readlimit.Open(path, readlimit.NoLinks)
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

// readNoFollow reads a regular file of at most limit bytes, refusing
// links as OpenRegular does.
func readNoFollow(path string, limit int64) ([]byte, error) {
	return readlimit.File(path, limit, readlimit.NoLinks)
}

// ReadRegular reads a small regular file of a store (a sidecar), refusing
// links as OpenRegular does.
func ReadRegular(path string) ([]byte, error) { return readNoFollow(path, maxMetadata) }
