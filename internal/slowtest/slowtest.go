// Package slowtest holds the slow reader that the tests of the transfer
// watchdogs share (internal/watchdog, images/registrycache): a source
// never idle for long and never fast, to tell a slow peer from a stalled
// one.
package slowtest

import (
	"io"
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
