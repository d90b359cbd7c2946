// Package flighttest checks that work shared by its callers (an
// internal/flight Group, or any other flight) survives one of them
// giving up: the test of each package that shares work runs the same
// scenario against its own server.
package flighttest

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Bound is how long each step of the scenario may take.
const Bound = 10 * time.Second

// Wait fails tb unless ch is closed within Bound.
func Wait(tb testing.TB, ch <-chan struct{}, what string) {
	tb.Helper()
	select {
	case <-ch:
	case <-time.After(Bound):
		tb.Fatalf("%s: not within %v", what, Bound)
	}
}

// Go runs fn in a goroutine and returns where its answer comes.
func Go[T any](fn func() T) <-chan T {
	ch := make(chan T, 1)
	go func() { ch <- fn() }()
	return ch
}

// Get returns the answer of a caller started by Go, failing tb unless
// it comes within Bound.
func Get[T any](tb testing.TB, ch <-chan T, who string) T {
	tb.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(Bound):
		tb.Fatalf("%s: no answer within %v", who, Bound)
		var zero T
		return zero
	}
}

// GiveUp runs the scenario: a first caller's call starts the work, which
// its server holds (started is closed once it does); a second caller
// joins it (joined is closed once it has); the first gives up, and must
// return its own context.Canceled (errOf reads a caller's error from its
// answer) while the work is still held; then release lets the server
// answer. GiveUp returns the second caller's answer, for the test to
// check with what its server counted.
func GiveUp[T any](tb testing.TB, call func(context.Context) T, errOf func(T) error, started, joined <-chan struct{}, release func()) T {
	tb.Helper()
	actx, cancelA := context.WithCancel(tb.Context())
	defer cancelA()
	a := Go(func() T { return call(actx) })
	Wait(tb, started, "the first caller's request reached the server")
	b := Go(func() T { return call(tb.Context()) })
	Wait(tb, joined, "the second caller joined the work")
	cancelA()
	if err := errOf(Get(tb, a, "the caller that gave up")); !errors.Is(err, context.Canceled) {
		tb.Errorf("the caller that gave up: %v, want its context.Canceled", err)
	}
	release()
	return Get(tb, b, "the caller that waited")
}
