package serve

import (
	"io"
	"sync"
	"time"
)

// Bounds of a LogWriter: how long a line may wait, and how much may.
const (
	logFlushInterval = 100 * time.Millisecond
	logBufferBytes   = 64 << 10
)

// LogWriter buffers a server's log for the writer under it: the lines go
// out every 100 ms, when 64 KiB are waiting, and on Close. With the access
// log on, a write system call a request (and a wakeup of the terminal or
// collector reading it) took a third of a small file's time. Each Write
// is kept whole, as slog's handlers write one record a call. It is safe
// for concurrent use.
type LogWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
	err error // the last failed write, reported by the next Write
	// closed sends every Write straight to w.
	closed bool
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

// NewLogWriter returns a LogWriter over w; Close it to write what waits
// and stop its timer.
func NewLogWriter(w io.Writer) *LogWriter {
	l := &LogWriter{w: w, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		t := time.NewTicker(logFlushInterval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				l.Flush()
			case <-l.stop:
				return
			}
		}
	}()
	return l
}

// Write buffers p, writing out what waited first when p would overflow
// the buffer, and p itself when it is larger than the buffer.
func (l *LogWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.err; err != nil {
		l.err = nil
		return 0, err
	}
	if len(l.buf)+len(p) > logBufferBytes {
		l.flushLocked()
	}
	if l.closed || len(p) > logBufferBytes {
		return l.w.Write(p)
	}
	l.buf = append(l.buf, p...)
	return len(p), nil
}

// Flush writes out what waits.
func (l *LogWriter) Flush() {
	l.mu.Lock()
	l.flushLocked()
	l.mu.Unlock()
}

func (l *LogWriter) flushLocked() {
	if len(l.buf) == 0 {
		return
	}
	if _, err := l.w.Write(l.buf); err != nil {
		l.err = err
	}
	l.buf = l.buf[:0]
}

// Close stops the timer and writes out what waits. Writes after Close go
// out at once.
func (l *LogWriter) Close() error {
	l.once.Do(func() {
		close(l.stop)
		<-l.done
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	l.flushLocked()
	err := l.err
	l.err = nil
	return err
}
