// Package slowtest holds what the tests of the transfer watchdogs and
// time bounds share (internal/watchdog, internal/regtransport, images,
// images/registrycache): a source never idle for long and never fast, to
// tell a slow peer from a stalled one, and the waits of a server that
// hangs or dawdles until its client gives up.
package slowtest

import (
	"io"
	"net/http"
	"time"
)

// Reader gives Chunk zero bytes a read, each read after Pause, until it
// has given Left bytes.
type Reader struct {
	Chunk int
	Pause time.Duration
	Left  int
}

// Read sleeps Pause, then fills at most Chunk bytes of p.
func (s *Reader) Read(p []byte) (int, error) {
	if s.Left == 0 {
		return 0, io.EOF
	}
	time.Sleep(s.Pause)
	n := min(s.Chunk, s.Left, len(p))
	clear(p[:n])
	s.Left -= n
	return n, nil
}

// Hang waits until the client of r or the test (stop) gives up: a server
// that takes a request and never answers.
func Hang(stop <-chan struct{}, r *http.Request) {
	select {
	case <-stop:
	case <-r.Context().Done():
	}
}

// Pause waits d and reports true, or reports false as soon as the client
// of r or the test (stop) gives up.
func Pause(stop <-chan struct{}, r *http.Request, d time.Duration) bool {
	select {
	case <-stop:
		return false
	case <-r.Context().Done():
		return false
	case <-time.After(d):
		return true
	}
}
