package readlimit

import (
	"io/fs"
	"os"

	"github.com/larder-build/larder/internal/flock"
)

// Links says whether Open and File follow a symbolic link at the end of
// the path.
type Links int

const (
	// FollowLinks follows a link: for a path the user named (a lock, a
	// requirement file, a configuration file).
	FollowLinks Links = iota
	// NoLinks refuses a link: for a file in a folder larder made (a
	// store, a git checkout), where a link could point out of it.
	NoLinks
)

// NotRegularError reports a path that is not a regular file: a folder, a
// device, a named pipe, a socket, or a symbolic link where links are
// refused.
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

// Error names the path and what it is.
func (e *NotRegularError) Error() string {
	return e.Path + " is " + Kind(e.Mode) + ", not a regular file"
}

// Kind says what kind of file a mode is, for a message: "a folder", "a
// named pipe".
func Kind(m fs.FileMode) string {
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

// Open opens path for reading when it is a regular file, and returns its
// size from the check of the open descriptor (what was opened, not what
// the name pointed to a moment before). Anything else is refused with a
// *NotRegularError before a byte is read: the name is checked before it
// is opened, so that a device is not even opened (opening one can act:
// a terminal, a tape), and a named pipe put there since is opened without
// waiting for a writer, so that "-r /dev/stdin", a FIFO, or a
// "pyproject.toml -> /dev/zero" link can neither hang the caller nor fill
// its memory.
func Open(path string, links Links) (*os.File, int64, error) {
	stat, flags := os.Stat, os.O_RDONLY|flock.Nonblock
	if links == NoLinks {
		stat, flags = os.Lstat, flags|flock.NoFollow
	}
	if st, err := stat(path); err == nil && !st.Mode().IsRegular() {
		return nil, 0, &NotRegularError{Path: path, Mode: st.Mode()}
	}
	f, err := os.OpenFile(path, flags, 0)
	if err != nil {
		// Replaced since the check: O_NOFOLLOW on a link fails with
		// ELOOP, a socket with ENXIO; say what it is instead.
		if st, serr := stat(path); serr == nil && !st.Mode().IsRegular() {
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

// File reads the regular file at path whole (see Open), refusing one of
// more than limit bytes with a *TooLargeError wrapped in an
// *fs.PathError that names it.
func File(path string, limit int64, links Links) ([]byte, error) {
	f, size, err := Open(path, links)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// A file already over the limit is refused by its size, unread; one
	// that grows while it is read is still stopped at the limit.
	if limit = max(limit, 0); size > limit {
		return nil, &fs.PathError{Op: "read", Path: path, Err: &TooLargeError{Max: limit}}
	}
	// A wheelhouse manifest is megabytes: read into a buffer of its size.
	b, err := readSized(f, size, limit)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	return b, nil
}
