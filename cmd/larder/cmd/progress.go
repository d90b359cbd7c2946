package cmd

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// status draws progress on stderr: one line redrawn in place on a
// terminal, or a plain line every few seconds elsewhere (CI logs).
type status struct {
	w        io.Writer
	tty      bool
	interval time.Duration

	mu    sync.Mutex
	line  func() string
	last  string
	stop  chan struct{}
	done  chan struct{}
	width int
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// newStatus starts drawing line() until Done is called, as g asks: with
// --no-progress nothing at all; with --json nothing on a terminal (the
// JSON goes to stdout) but plain lines still go to a log.
func newStatus(w io.Writer, g *globals, line func() string) *status {
	s := &status{w: w, tty: isTerminal(w), line: line, stop: make(chan struct{}), done: make(chan struct{})}
	s.interval = 2 * time.Second
	if s.tty {
		s.interval = 100 * time.Millisecond
	}
	if g.noProgress || (s.tty && g.json) {
		close(s.done)
		return s
	}
	go s.loop()
	return s
}

func (s *status) loop() {
	defer close(s.done)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			s.draw(true)
			return
		case <-t.C:
			s.draw(false)
		}
	}
}

func (s *status) draw(final bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.line()
	if s.tty {
		pad := ""
		if n := s.width - len(l); n > 0 {
			pad = fmt.Sprintf("%*s", n, "")
		}
		s.width = len(l)
		fmt.Fprintf(s.w, "\r%s%s", l, pad)
		if final {
			fmt.Fprint(s.w, "\r", fmt.Sprintf("%*s", s.width, ""), "\r")
		}
		return
	}
	if l != s.last && !final {
		fmt.Fprintln(s.w, l)
		s.last = l
	}
}

// Done stops drawing and clears the line.
func (s *status) Done() {
	select {
	case <-s.done:
		return
	default:
	}
	close(s.stop)
	<-s.done
}
