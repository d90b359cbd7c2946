// Package flight shares work in flight among the callers that want it,
// as golang.org/x/sync/singleflight does, without handing one caller's
// cancellation to the others.
//
// singleflight runs the work under whatever context the first caller
// gave it: when that caller gives up (a speculative warm-up abandoned, a
// client that disconnected), every caller that joined gets its
// "context canceled" although its own context is fine. Here the work
// runs under a context of its own, which keeps the first caller's
// values but not its cancellation nor its deadline, and which ends only
// once every caller waiting for the work has gone. Whatever bounds the
// work needs in time (timeouts, stall watchdogs) are the work's own.
//
// A panic in the work is recovered in the work's goroutine, where no
// caller's recover could reach it (it would end the process): every
// caller waiting gets it as a *PanicError, and its stack is logged once.
package flight

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"

	"github.com/larder-build/larder/resolver/simple"
)

// PanicError is work that panicked: what it panicked with, and where.
type PanicError struct {
	Key   string // the work's key, as fmt prints it (a URL without its password)
	Value any
	Stack []byte
}

// Error names the work's key and what it panicked with; the stack is
// logged once, not repeated in every caller's error.
func (e *PanicError) Error() string {
	return fmt.Sprintf("shared work for %s panicked: %v (a bug: please report it with the stack logged)", e.Key, e.Value)
}

// Group shares work by key: the callers asking for a key while work for
// it is under way wait for that work instead of starting their own. The
// zero Group is ready for use; it must not be copied once used.
type Group[K comparable, V any] struct {
	mu    sync.Mutex
	calls map[K]*call[V]

	// Joined and Ended are set by tests only, before the Group is used.
	// Joined runs each time a caller joins work another caller started,
	// once it counts among the work's waiters; Ended runs each time work
	// has ended, its callers let go (whether some still waited or not).
	Joined func(key K)
	Ended  func(key K)

	// Log gets the stack of work that panicked; nil is slog.Default().
	Log *slog.Logger
}

// call is one piece of work under way and who waits for it.
type call[V any] struct {
	done    chan struct{} // closed once val and err are set
	val     V
	err     error
	waiters int // callers still waiting; the work ends when none is
	cancel  context.CancelFunc
}

// Do returns what fn returns for key, running fn once for every caller
// that asks for key while it runs. fn runs in a goroutine of its own,
// under a context that keeps the values of the context of the caller
// that started it but none of its cancellation or deadline, and that is
// cancelled once every caller waiting for it has returned: fn bounds
// itself in time. A caller whose ctx ends returns ctx.Err() at once,
// without waiting for fn, unless it is the last caller waiting: it then
// waits for fn, cancelled, to return. The others still get fn's result. Once every
// caller has gone, a new caller starts the work afresh rather than join
// work being cancelled, so fn must not keep as a fact a failure that
// its context's end caused (check its ctx.Err()). A panic in fn is
// recovered: each caller waiting gets a *PanicError, and g.Log gets the
// stack once.
func (g *Group[K, V]) Do(ctx context.Context, key K, fn func(ctx context.Context) (V, error)) (V, error) {
	var zero V
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	g.mu.Lock()
	c, joined := g.calls[key]
	if joined {
		c.waiters++
	} else {
		wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		c = &call[V]{done: make(chan struct{}), waiters: 1, cancel: cancel}
		if g.calls == nil {
			g.calls = map[K]*call[V]{}
		}
		g.calls[key] = c
		go g.run(wctx, key, c, fn)
	}
	g.mu.Unlock()
	if joined && g.Joined != nil {
		g.Joined(key)
	}
	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		if g.leave(key, c) {
			// The last caller to go waits for the cancelled work to end,
			// so that when every caller has returned no work of theirs
			// still runs (writing a cache file into a folder its caller
			// is removing, say).
			<-c.done
		}
		return zero, ctx.Err()
	}
}

// run does c's work and hands its result to the callers waiting.
func (g *Group[K, V]) run(ctx context.Context, key K, c *call[V], fn func(context.Context) (V, error)) {
	defer c.cancel()
	c.val, c.err = g.call(ctx, key, fn)
	g.mu.Lock()
	if g.calls[key] == c {
		delete(g.calls, key)
	}
	g.mu.Unlock()
	close(c.done)
	if g.Ended != nil {
		g.Ended(key)
	}
}

// call runs fn, turning a panic into a *PanicError whose stack it logs.
func (g *Group[K, V]) call(ctx context.Context, key K, fn func(context.Context) (V, error)) (V, error) {
	return Recover(g.Log, key, func() (V, error) { return fn(ctx) })
}

// Recover returns what fn returns. A panic in fn is recovered and
// returned as a *PanicError for key, its stack logged once to log (nil
// is slog.Default()). It is for work that runs in a goroutine of its own
// on behalf of callers waiting for it (as a Group's does), where neither
// their recover nor net/http's recovery of handlers reaches and a panic
// would end the process: each caller gets the error, the log the stack.
func Recover[V any](log *slog.Logger, key any, fn func() (V, error)) (v V, err error) {
	defer func() {
		if p := recover(); p != nil {
			pe := &PanicError{Key: keyString(key), Value: p, Stack: debug.Stack()}
			if log == nil {
				log = slog.Default()
			}
			log.Error("shared work panicked; its callers get an error (a bug: please report it with this stack)",
				"key", pe.Key, "panic", fmt.Sprint(p), "stack", string(pe.Stack))
			var zero V
			v, err = zero, pe
		}
	}()
	return fn()
}

// keyString prints a key for logs and errors; a URL's password (or a
// token given as its user) is shown as xxxxx, even in a URL that does
// not parse.
func keyString(key any) string {
	return simple.RedactURL(fmt.Sprint(key))
}

// leave counts a caller of c gone; the last one cancels the work, lets
// the next caller start it again, and reports true.
func (g *Group[K, V]) leave(key K, c *call[V]) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	c.waiters--
	if c.waiters > 0 {
		return false
	}
	if g.calls[key] == c {
		delete(g.calls, key)
	}
	c.cancel()
	return true
}
