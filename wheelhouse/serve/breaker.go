package serve

import (
	"sync"
	"time"
)

// breaker is a circuit breaker for the upstream. Until the upstream has
// answered or failed once, one request goes out and the others wait for
// its outcome, so that even a burst of parallel requests (uv) pays for at
// most one failed connection. Closed, every request goes out. After a
// failure it opens for a back-off period, during which nothing goes out and
// nobody waits; then one request (the probe) is let through while the
// others still see it open. A failed probe doubles the back-off up to max;
// any success closes it and resets the back-off.
//
// A probe (the first request, or the one after a back-off) must have its
// answer's headers within the probe timeout, a connect timeout rather than
// a page timeout: an upstream that accepts connections and never answers
// then costs everyone together one short wait per back-off period.
type breaker struct {
	min, max time.Duration

	mu        sync.Mutex
	tried     bool // the upstream has answered or failed at least once
	open      bool
	until     time.Time
	backoff   time.Duration // the next period to open for
	probing   bool
	settled   chan struct{} // closed when the probe in flight ends
	lastError string
	everOK    bool
	lastOK    time.Time // when the upstream last answered, for people
}

func newBreaker(min, max time.Duration) *breaker {
	return &breaker{min: min, max: max, backoff: min, settled: make(chan struct{})}
}

// allow reports whether a request may go upstream now, and whether it is
// the probe. When it may not yet, but should wait for the probe's
// outcome, wait is not nil.
func (b *breaker) allow(now time.Time) (ok, probe bool, wait <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case !b.open && b.tried:
		return true, false, nil
	case !b.open && b.probing:
		return false, false, b.settled
	case !b.open, !b.probing && !now.Before(b.until):
		b.probing = true
		return true, true, nil
	}
	return false, false, nil
}

// settle ends a probe, waking those waiting for it. b.mu is held.
func (b *breaker) settle() {
	if b.probing {
		b.probing = false
		close(b.settled)
		b.settled = make(chan struct{})
	}
}

// success closes the breaker.
func (b *breaker) success() {
	b.mu.Lock()
	b.settle()
	b.tried, b.open, b.backoff, b.lastError, b.everOK = true, false, b.min, "", true
	b.lastOK = time.Now()
	b.mu.Unlock()
}

// done ends a request that neither proves nor disproves the upstream (the
// client went away): a probe may be tried again at once.
func (b *breaker) done() {
	b.mu.Lock()
	b.settle()
	b.mu.Unlock()
}

// failure opens the breaker for the current back-off and doubles it. It
// reports whether this failure opened a closed breaker, and for how long.
func (b *breaker) failure(now time.Time, err error) (opened bool, period time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	wasOpen := b.open
	if wasOpen && !b.probing && now.Before(b.until) {
		// A request that started before the breaker opened.
		return false, b.until.Sub(now)
	}
	b.settle()
	period = b.backoff
	b.tried, b.open, b.until = true, true, now.Add(period)
	b.backoff = min(b.backoff*2, b.max)
	if err != nil {
		b.lastError = err.Error()
	}
	return !wasOpen, period
}

// breakerState is the breaker as /-/healthz reports it.
type breakerState struct {
	open      bool
	retryIn   time.Duration
	lastError string
	everOK    bool
	lastOK    time.Time
}

func (b *breaker) state(now time.Time) breakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := breakerState{open: b.open, lastError: b.lastError, everOK: b.everOK, lastOK: b.lastOK}
	if b.open && now.Before(b.until) {
		s.retryIn = b.until.Sub(now)
	}
	return s
}
