package ocilayout

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/larder-build/larder/internal/readlimit"
)

// NotBlobError is something at the path of a blob of a layout that is
// not that blob: a symbolic link (even to the blob's own bytes
// elsewhere: larder never reads a layout's blob through a link), a named
// pipe, a device, a folder, or a regular file of another size than the
// blob's. Anyone who may write a shared layout can plant one.
type NotBlobError struct {
	Path   string
	Digest v1.Hash
	Mode   fs.FileMode
	// Size is the size of the regular file found; Want the blob's.
	Size, Want int64
}

// Error names the path, what is there and what to do.
func (e *NotBlobError) Error() string {
	what := readlimit.Kind(e.Mode)
	if e.Mode.IsRegular() {
		what = fmt.Sprintf("a file of %d bytes (the blob has %d)", e.Size, e.Want)
	}
	return fmt.Sprintf("%s is %s, not the blob %s: remove it, larder will not take it for the blob", e.Path, what, e.Digest)
}

// Replaceable says whether a writer of the blob replaces what is there
// as it renames the blob into place: anything but a folder, which a
// rename cannot replace.
func (e *NotBlobError) Replaceable() bool { return !e.Mode.IsDir() }

// Replaceable says whether err, from HasBlob, is a *NotBlobError whose
// thing a writer of the blob replaces as it renames the blob into place:
// for a writer, the blob is then simply not there yet.
func Replaceable(err error) bool {
	var nb *NotBlobError
	return errors.As(err, &nb) && nb.Replaceable()
}

// HasBlob reports whether the layout in dir holds the blob h: a regular
// file at its path, never followed through a link, of size bytes (of any
// size when size is negative; blobs only ever arrive whole, by rename).
// Nothing there is false and no error. Anything else there is false and
// a *NotBlobError naming it, never "present": a link planted to a file
// elsewhere (of the blob's bytes or not), a named pipe or a folder would
// have a writer skip the real blob, or a reader read the link's target.
// A writer may replace what NotBlobError.Replaceable says it can.
func HasBlob(dir string, h v1.Hash, size int64) (bool, error) {
	p, err := BlobPath(dir, h)
	if err != nil {
		return false, err
	}
	st, err := os.Lstat(p)
	if missing(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if st.Mode().IsRegular() && (size < 0 || st.Size() == size) {
		return true, nil
	}
	return false, &NotBlobError{Path: p, Digest: h, Mode: st.Mode(), Size: st.Size(), Want: size}
}
