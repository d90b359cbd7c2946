package tomldoc

import (
	"errors"
	"fmt"
	"io"

	"github.com/larder-build/larder/internal/readlimit"
)

// maxDocument bounds a document read whole: edx-platform's uv.lock is
// under 1 MB, the largest real ones a few tens of MB.
const maxDocument = 128 << 20

// Schema says how to read one kind of document into a T: pylock.toml,
// uv.lock and pyproject.toml each have one, so that loading, decoding and
// reporting problems is written once.
type Schema[T any] struct {
	// What names the document in I/O errors ("lock").
	What string
	// Read walks the root table, recording what is wrong in the table's
	// Problems rather than stopping at the first.
	Read func(*Table) T
	// Check, when set, checks what Read built as a whole; it runs only when
	// Read recorded no problem.
	Check func(T, *KeyLines) error
	// NotTOML, when set, is asked about a document that is not TOML: it
	// may say what the document is instead and what to do, which is added
	// to the syntax error (a requirements file named pylock.toml).
	NotTOML func(data []byte) string
}

// Load reads and decodes the document at path; errors name the file.
func (s Schema[T]) Load(path string) (T, error) {
	data, err := readlimit.File(path, maxDocument, readlimit.FollowLinks)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("reading %s: %w", s.What, err)
	}
	return s.Parse(path, data)
}

// Decode reads and decodes a document from r, for a document that has no
// file name.
func (s Schema[T]) Decode(r io.Reader) (T, error) {
	data, err := readlimit.ReadAll(r, maxDocument)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("reading %s: %w", s.What, err)
	}
	return s.Parse("", data)
}

// Parse decodes data, which came from file ("" for none): a syntax error,
// the problems Read recorded (joined), or Check's error.
func (s Schema[T]) Parse(file string, data []byte) (T, error) {
	var zero T
	root, err := Parse(file, data)
	if err != nil {
		var located *Error
		if s.NotTOML != nil && errors.As(err, &located) {
			if why := s.NotTOML(data); why != "" {
				return zero, &Error{File: located.File, Line: located.Line, Key: located.Key, Err: fmt.Errorf("%w: %s", located.Err, why)}
			}
		}
		return zero, err
	}
	v := s.Read(root)
	if err := root.P.Err(); err != nil {
		return zero, err
	}
	if s.Check != nil {
		if err := s.Check(v, root.P.X); err != nil {
			return zero, err
		}
	}
	return v, nil
}
