// Package watchdog cuts a transfer that stalls or trickles. A read that
// brings bytes puts the idle cut off; a transfer must also keep up
// MinRate, or a byte sent now and then would put the cut off for ever and
// hold a request, a connection and a goroutine for as long as the sender
// likes (a 100 MB wheel at a byte a minute takes two centuries). It may
// fall behind MinRate by its idle time's worth of bytes, and bytes sent
// ahead of MinRate count for no more than that: a sender that starts fast
// and then trickles is cut about its idle time after it slows down, not
// once its whole average has fallen (10 MB sent at once would otherwise
// buy three hours of a byte a minute, and a 1 GB blob twelve days).
//
// It is the one rule for every body larder reads from a server it does
// not control: index pages and metadata, wheels, registry blobs, and the
// files larder serve relays from upstream.
package watchdog

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// MinRate is the slowest average, in bytes a second, that a transfer may
// have once it has run for its idle time.
const MinRate = 1 << 10

// ErrStalled is the cause to give a transfer's cut: nothing arrived for
// its idle time.
var ErrStalled = errors.New("no data received for too long")

// ErrTooSlow reports a transfer averaging under MinRate.
var ErrTooSlow = fmt.Errorf("the transfer averages under %d bytes a second", MinRate)

// Watch watches one transfer.
type Watch struct {
	timer *time.Timer
	idle  time.Duration
	start time.Time
	m     Meter
}

// Start starts watching: cut runs once nothing has arrived for idle (it
// should end the transfer, so that the read waiting on it returns). The
// rate is measured from now, or from Begin.
func Start(idle time.Duration, cut func()) *Watch {
	return &Watch{timer: time.AfterFunc(idle, cut), idle: idle, start: time.Now(), m: NewMeter(idle)}
}

// Begin restarts the rate's clock and the idle cut: for a watch started
// before a request, whose body begins only with the answer (the answer's
// headers are bytes that arrived).
func (w *Watch) Begin() {
	w.timer.Reset(w.idle)
	w.start, w.m = time.Now(), NewMeter(w.idle)
}

// Arrived records n bytes read: when n > 0 the idle cut is put off. It
// returns an error wrapping ErrTooSlow when the transfer has fallen too
// far behind MinRate (Meter).
func (w *Watch) Arrived(n int) error {
	if n > 0 {
		w.timer.Reset(w.idle)
	}
	return w.m.Add(int64(n), time.Since(w.start))
}

// Meter holds a transfer to MinRate, for a transfer whose idle cut is
// kept elsewhere or whose clock is its own (time spent waiting on the
// sender only). The transfer starts with grace's worth of MinRate in
// hand, spends MinRate a second and earns each byte it moves, holding no
// more than grace's worth: it is too slow once it has nothing in hand. A
// transfer that moves nothing is too slow after grace; one that averages
// under MinRate from its start, as soon as it is grace's worth behind;
// one that slows down after a fast start, once it has spent grace's worth
// below MinRate.
type Meter struct {
	grace time.Duration
	hand  float64       // bytes in hand, at most grace's worth
	at    time.Duration // the clock at the last Add
	n     int64         // bytes moved
}

// NewMeter returns a meter whose transfer may fall grace's worth of
// MinRate behind.
func NewMeter(grace time.Duration) Meter {
	return Meter{grace: grace, hand: grace.Seconds() * MinRate}
}

// Add records n bytes moved when the transfer's clock reads took (which
// never goes back). It returns an error wrapping ErrTooSlow once the
// transfer has fallen behind.
func (m *Meter) Add(n int64, took time.Duration) error {
	if took > m.at {
		m.hand -= (took - m.at).Seconds() * MinRate
		m.at = took
	}
	m.n += n
	m.hand = min(m.hand+float64(n), m.grace.Seconds()*MinRate)
	if m.hand < 0 {
		return fmt.Errorf("after %d bytes in %v: %w", m.n, took.Round(time.Millisecond), ErrTooSlow)
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
