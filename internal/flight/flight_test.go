package flight

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

type key struct{}

// bound is how long a test waits for anything at most.
const bound = 10 * time.Second

func wait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(bound):
		t.Fatalf("%s: not within %v", what, bound)
	}
}

type result struct {
	v   string
	err error
}

// do calls g.Do in a goroutine; the channel gets what it returns.
func do(g *Group[string, string], ctx context.Context, fn func(context.Context) (string, error)) <-chan result {
	ch := make(chan result, 1)
	go func() {
		v, err := g.Do(ctx, "k", fn)
		ch <- result{v, err}
	}()
	return ch
}

func get(t *testing.T, ch <-chan result, what string) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(bound):
		t.Fatalf("%s: no answer within %v", what, bound)
		return result{}
	}
}

// TestAJoinerGetsTheAnswerWhenTheCallerThatStartedTheWorkGivesUp: the
// caller that started the work gives up while it runs; it returns its
// own context's error at once, the work goes on, the caller that
// joined it gets its answer, and the work ran once. The work sees the
// first caller's values, not its cancellation.
func TestAJoinerGetsTheAnswerWhenTheCallerThatStartedTheWorkGivesUp(t *testing.T) {
	var g Group[string, string]
	joined := make(chan struct{})
	g.Joined = func(string) { close(joined) }
	started, release := make(chan struct{}), make(chan struct{})
	var runs atomic.Int32
	var sawValue atomic.Bool
	fn := func(ctx context.Context) (string, error) {
		runs.Add(1)
		sawValue.Store(ctx.Value(key{}) == "first")
		close(started)
		select {
		case <-release:
			return "answer", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	actx, cancelA := context.WithCancel(context.WithValue(t.Context(), key{}, "first"))
	defer cancelA()
	a := do(&g, actx, fn)
	wait(t, started, "the work started")
	b := do(&g, t.Context(), fn)
	wait(t, joined, "the second caller joined")
	cancelA()
	if r := get(t, a, "the caller that gave up"); !errors.Is(r.err, context.Canceled) {
		t.Errorf("the caller that gave up: %q, %v; want its context.Canceled", r.v, r.err)
	}
	close(release)
	if r := get(t, b, "the caller that joined"); r.err != nil || r.v != "answer" {
		t.Errorf("the caller that joined: %q, %v; want the answer", r.v, r.err)
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("the work ran %d times, want 1", n)
	}
	if !sawValue.Load() {
		t.Error("the work did not see the first caller's context values")
	}
}

// TestTheWorkEndsOnceEveryCallerHasGoneAndTheNextStartsAfresh: when
// every caller waiting has given up, the work's context is cancelled,
// and the next caller starts the work again instead of joining the one
// being cancelled (or taking its failure).
func TestTheWorkEndsOnceEveryCallerHasGoneAndTheNextStartsAfresh(t *testing.T) {
	var g Group[string, string]
	joined := make(chan struct{})
	g.Joined = func(string) { close(joined) }
	started, cancelled, finish := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var runs atomic.Int32
	first := func(ctx context.Context) (string, error) {
		runs.Add(1)
		close(started)
		<-ctx.Done()
		close(cancelled)
		<-finish // the cancelled work is still running when the next caller comes
		return "", ctx.Err()
	}
	actx, cancelA := context.WithCancel(t.Context())
	bctx, cancelB := context.WithCancel(t.Context())
	a := do(&g, actx, first)
	wait(t, started, "the work started")
	b := do(&g, bctx, first)
	wait(t, joined, "the second caller joined")
	cancelA()
	get(t, a, "the first caller")
	select {
	case <-cancelled:
		t.Fatal("the work was cancelled while a caller still waited for it")
	default:
	}
	cancelB()
	wait(t, cancelled, "the work cancelled once every caller had gone")
	c := do(&g, t.Context(), func(context.Context) (string, error) { runs.Add(1); return "again", nil })
	if r := get(t, c, "the next caller"); r.err != nil || r.v != "again" {
		t.Errorf("the next caller: %q, %v; want the work done again", r.v, r.err)
	}
	// The last caller to go waits for the cancelled work to end, so that
	// no work of a caller's outlives every caller.
	select {
	case r := <-b:
		t.Fatalf("the last caller returned (%q, %v) while its cancelled work still ran", r.v, r.err)
	default:
	}
	close(finish)
	if r := get(t, b, "the second caller"); !errors.Is(r.err, context.Canceled) {
		t.Errorf("the second caller: %q, %v; want its context.Canceled", r.v, r.err)
	}
	if n := runs.Load(); n != 2 {
		t.Errorf("the work ran %d times, want 2", n)
	}
}

// TestACallerWhoseContextHasEndedStartsNothing: a caller whose context
// ended before it asked gets its error, and no work starts.
func TestACallerWhoseContextHasEndedStartsNothing(t *testing.T) {
	var g Group[string, string]
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := g.Do(ctx, "k", func(context.Context) (string, error) {
		t.Error("work started for a caller whose context had ended")
		return "", nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

// TestWorkThatPanicsIsAnErrorForEveryCallerAndItsStackIsLoggedOnce:
// work that panics, with one caller that started it and one that
// joined it, is a *PanicError for both (the process goes on: a panic in
// the work's goroutine is out of every caller's reach), its stack is
// logged once, and the next caller starts the work afresh.
func TestWorkThatPanicsIsAnErrorForEveryCallerAndItsStackIsLoggedOnce(t *testing.T) {
	var logged bytes.Buffer
	var g Group[string, string]
	g.Log = slog.New(slog.NewTextHandler(&logged, nil))
	joined := make(chan struct{})
	g.Joined = func(string) { close(joined) }
	started := make(chan struct{})
	fn := func(context.Context) (string, error) {
		close(started)
		wait(t, joined, "the second caller joined")
		panic("a bug in the work")
	}
	a := do(&g, t.Context(), fn)
	wait(t, started, "the work started")
	b := do(&g, t.Context(), fn)
	for _, ch := range []<-chan result{a, b} {
		r := get(t, ch, "a caller of work that panicked")
		var pe *PanicError
		if !errors.As(r.err, &pe) || pe.Value != "a bug in the work" || pe.Key != "k" {
			t.Fatalf("a caller of work that panicked: %q, %v; want a *PanicError of key k with the panic's value", r.v, r.err)
		}
		if !strings.Contains(r.err.Error(), "a bug in the work") || strings.Contains(r.err.Error(), "goroutine") {
			t.Errorf("error %q: want the panic's value, not its stack", r.err)
		}
	}
	if n := strings.Count(logged.String(), "shared work panicked"); n != 1 {
		t.Errorf("logged the panic %d times, want once:\n%s", n, logged.String())
	}
	if !strings.Contains(logged.String(), "flight_test.go") {
		t.Errorf("the log has no stack naming the work's file:\n%s", logged.String())
	}
	c := do(&g, t.Context(), func(context.Context) (string, error) { return "again", nil })
	if r := get(t, c, "the next caller"); r.err != nil || r.v != "again" {
		t.Errorf("the next caller: %q, %v; want the work done again", r.v, r.err)
	}
}

// TestAPanicsKeyIsLoggedWithoutItsCredentials: work keyed by a URL with
// a user and password (an index's token) panics: neither the error nor
// the log repeats them.
func TestAPanicsKeyIsLoggedWithoutItsCredentials(t *testing.T) {
	for _, key := range []string{"https://ci:s3cr3t-token@index.example/simple/x/", "https://s3cr3t-token@index.example/simple/x/",
		"https://ci:s3cr3t-token%zz@index.example/simple/x/"} { // the last one does not parse
		var logged bytes.Buffer
		var g Group[string, string]
		g.Log = slog.New(slog.NewTextHandler(&logged, nil))
		_, err := g.Do(t.Context(), key, func(context.Context) (string, error) { panic("a bug") })
		var pe *PanicError
		if !errors.As(err, &pe) || !strings.Contains(pe.Key, "index.example/simple/x/") {
			t.Errorf("key %s: %v; want a *PanicError naming the URL", key, err)
		}
		if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(logged.String(), "s3cr3t") {
			t.Errorf("key %s: the error %q or the log repeats the token:\n%s", key, err, logged.String())
		}
	}
}

// TestRecoverGivesAPanicAsAnErrorAndWhatFnReturnsAsIs: Recover, the
// recovery Group's work runs under and that work outside a Group (an
// index server's page fetch) uses too, gives back what fn returns, and a
// panic as a *PanicError whose stack is logged once, its key without
// credentials.
func TestRecoverGivesAPanicAsAnErrorAndWhatFnReturnsAsIs(t *testing.T) {
	failed := errors.New("failed")
	for _, tc := range []struct {
		name    string
		fn      func() (string, error)
		v       string
		err     error
		panicky bool
	}{
		{"a value", func() (string, error) { return "v", nil }, "v", nil, false},
		{"an error", func() (string, error) { return "", failed }, "", failed, false},
		{"a panic", func() (string, error) { panic("a bug") }, "", nil, true},
		{"a panic with an error", func() (string, error) { panic(errors.New("nil map")) }, "", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logged bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logged, nil))
			v, err := Recover(log, "https://ci:s3cr3t-token@index.example/simple/x/", tc.fn)
			if !tc.panicky {
				if v != tc.v || err != tc.err || logged.Len() != 0 {
					t.Errorf("%q, %v, logged %q; want %q, %v and nothing logged", v, err, logged.String(), tc.v, tc.err)
				}
				return
			}
			var pe *PanicError
			if !errors.As(err, &pe) || v != "" || !strings.Contains(pe.Key, "index.example/simple/x/") {
				t.Fatalf("%q, %v; want a *PanicError naming the URL", v, err)
			}
			if n := strings.Count(logged.String(), "stack="); n != 1 || !strings.Contains(logged.String(), "flight_test.go") {
				t.Errorf("logged %d stacks, want one naming the panic's file:\n%s", n, logged.String())
			}
			if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(logged.String(), "s3cr3t") {
				t.Errorf("the error %q or the log repeats the token:\n%s", err, logged.String())
			}
		})
	}
}
