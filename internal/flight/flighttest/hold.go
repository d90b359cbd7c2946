package flighttest

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// Hold is the server's side of the scenario: it counts the requests it
// is asked about and holds the first of them until Release (or until
// that request's client goes away), closing Started when it arrives.
type Hold struct {
	started, held   chan struct{}
	first, released sync.Once
	asked           atomic.Int32
}

// NewHold returns a Hold that has seen no request yet.
func NewHold() *Hold {
	return &Hold{started: make(chan struct{}), held: make(chan struct{})}
}

// Wait counts r and, when it is the first request Wait was given, holds
// it until Release or until r's client goes away. It reports whether r
// is to be answered: false once its client has gone.
func (h *Hold) Wait(r *http.Request) bool {
	h.asked.Add(1)
	hold := false
	h.first.Do(func() { hold = true })
	if !hold {
		return true
	}
	close(h.started)
	select {
	case <-h.held:
		return true
	case <-r.Context().Done():
		return false
	}
}

// Started is closed once the first request has arrived.
func (h *Hold) Started() <-chan struct{} { return h.started }

// Release lets the held request go on; it may be called more than once.
func (h *Hold) Release() { h.released.Do(func() { close(h.held) }) }

// Asked is how many requests Wait was given, answered or not.
func (h *Hold) Asked() int { return int(h.asked.Load()) }

// Serve serves next over HTTP until the test ends, holding the first of
// the requests holds picks as Hold.Wait does (the others it picks are
// counted, and every request is answered by next). It returns the
// server's URL and the Hold; the held request is released when the test
// ends, before the server closes (which waits for it).
func Serve(tb testing.TB, next http.Handler, holds func(*http.Request) bool) (string, *Hold) {
	tb.Helper()
	h := NewHold()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if holds(r) && !h.Wait(r) {
			return
		}
		next.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	tb.Cleanup(h.Release) // before srv.Close
	return srv.URL, h
}
