// Package readlimit reads an input whole up to a limit and refuses one
// that holds more, instead of silently keeping a truncated prefix; a file
// it opens must be a regular file (Open), never a device or a pipe. The
// larder command and the index server (larder-index) both read metadata,
// pages and form fields this way, so it links nothing outside the
// standard library.
package readlimit

import (
	"bytes"
	"io"
	"math"
	"strconv"
)

// TooLargeError reports an input that holds more than Max bytes. Callers
// wrap it with what was read (a file, a URL, a form field) and find it
// with errors.As.
type TooLargeError struct {
	Max int64
}

func (e *TooLargeError) Error() string {
	return "larger than " + strconv.FormatInt(e.Max, 10) + " bytes"
}

// ReadAll reads r to its end and returns what it holds when that is at
// most limit bytes, or a *TooLargeError when there is more: it reads one
// byte past limit to tell, never more. A read error is returned as it is,
// for the caller to wrap; on any error no bytes are returned. A negative
// limit is taken as 0.
func ReadAll(r io.Reader, limit int64) ([]byte, error) {
	limit = min(max(limit, 0), math.MaxInt64-1) // room for the extra byte
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	return checked(b, err, limit)
}

// readSized is ReadAll of an input expected to hold size bytes (at most
// limit): read into a buffer of that size, where io.ReadAll would grow
// one from 512 bytes, copying as it goes.
func readSized(r io.Reader, size, limit int64) ([]byte, error) {
	limit = min(max(limit, 0), math.MaxInt64-1)
	buf := bytes.NewBuffer(make([]byte, 0, min(max(size, 0), limit)+bytes.MinRead))
	_, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	return checked(buf.Bytes(), err, limit)
}

// checked is what ReadAll returns for b read up to limit+1 bytes.
func checked(b []byte, err error, limit int64) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &TooLargeError{Max: limit}
	}
	return b, nil
}
