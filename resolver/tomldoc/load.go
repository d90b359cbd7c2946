package tomldoc

import (
	"fmt"
	"io"
	"os"
)

// LoadFile reads the document at path and decodes it with decode, which
// names the file in its errors; what says what the file is ("lock").
func LoadFile[T any](path, what string, decode func(file string, data []byte) (T, error)) (T, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("reading %s: %w", what, err)
	}
	return decode(path, data)
}

// Read reads a document from r and decodes it with decode, for a document
// that has no file name.
func Read[T any](r io.Reader, what string, decode func(file string, data []byte) (T, error)) (T, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("reading %s: %w", what, err)
	}
	return decode("", data)
}
