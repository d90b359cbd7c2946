// Package watchdog cuts a transfer that stalls or trickles. A read that
// brings bytes puts the idle cut off; a transfer that has run longer than
// its idle time must also average MinRate, or a byte sent now and then
// would put the cut off for ever and hold a request, a connection and a
// goroutine for as long as the sender likes (a 100 MB wheel at a byte a
// minute takes two centuries).
//
// It is the one rule for every body larder reads from a server it does
// not control: index pages and metadata, wheels, registry blobs, and the
// files larder serve relays from upstream.
package watchdog

import (
	"fmt"
	"io"
	"time"
)

// MinRate is the slowest average, in bytes a second, that a transfer may
// have once it has run for its idle time.
const MinRate = 1 << 10

// ErrTooSlow reports a transfer averaging under MinRate.
var ErrTooSlow = fmt.Errorf("the transfer averages under %d bytes a second", MinRate)

// Watch watches one transfer.
type Watch struct {
	timer *time.Timer
	idle  time.Duration
	start time.Time
	n     int64
}

// Start starts watching: cut runs once nothing has arrived for idle (it
// should end the transfer, so that the read waiting on it returns). The
// rate is measured from now, or from Begin.
func Start(idle time.Duration, cut func()) *Watch {
	return &Watch{timer: time.AfterFunc(idle, cut), idle: idle, start: time.Now()}
}

// Begin restarts the rate's clock: for a watch started before a request,
// whose body begins only with the answer.
func (w *Watch) Begin() {
	w.start, w.n = time.Now(), 0
}

// Arrived records n bytes read: when n > 0 the idle cut is put off. It
// returns an error wrapping ErrTooSlow when the transfer has run longer
// than its idle time and averages under MinRate.
func (w *Watch) Arrived(n int) error {
	if n > 0 {
		w.timer.Reset(w.idle)
		w.n += int64(n)
	}
	return TooSlow(w.n, time.Since(w.start), w.idle)
}

// TooSlow returns an error wrapping ErrTooSlow when a transfer of n bytes
// has taken longer than grace and averages under MinRate: for a
// transfer whose idle cut is kept elsewhere.
func TooSlow(n int64, took, grace time.Duration) error {
	if took > grace && float64(n) < took.Seconds()*MinRate {
		return fmt.Errorf("after %d bytes in %v: %w", n, took.Round(time.Millisecond), ErrTooSlow)
	}
	return nil
}

// Stop stops the idle cut; it reports whether it stopped it before it
// ran.
func (w *Watch) Stop() bool { return w.timer.Stop() }

// Reader returns r, each read reported to the watch: a read that leaves
// the transfer too slow returns its bytes and the error.
func (w *Watch) Reader(r io.Reader) io.Reader { return &reader{r: r, w: w} }

type reader struct {
	r io.Reader
	w *Watch
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	// A body that has just ended, or failed, says so itself.
	if werr := r.w.Arrived(n); werr != nil && err == nil {
		return n, werr
	}
	return n, err
}
