package registrycache

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/singleflight"

	"github.com/larder-build/larder/internal/regtransport"
)

// How long and how much a registry may take: the cache is shared, so its
// registry is trusted with nothing but the bytes it stores (their
// digests are checked) and must not be able to hang or fill a fetch or a
// server either. Every request is bounded by regtransport (60 s to an
// answer, 60 s idle either way, 16 MiB of a manifest or a tag page).
const (
	// reachTimeout bounds the ping and token exchange that make a
	// transport, whoever waits for them.
	reachTimeout = 60 * time.Second
	// maxTagPages and maxListedTags bound a tag list, whatever its Link
	// headers say.
	maxTagPages   = 10000
	maxListedTags = 1000000
)

// timeouts are the bounds in time of a Cache's requests; tests shorten
// them.
type timeouts struct {
	requests regtransport.Timeouts
	reach    time.Duration
}

var defaultTimeouts = timeouts{requests: regtransport.Default, reach: reachTimeout}

// withTimeouts shortens a Cache's timeouts, for the tests; the time
// allowed for an upload's bytes in flight is shortened as the answer's.
func withTimeouts(answer, idle, reach time.Duration) Option {
	return func(o *options) error {
		o.timeouts = timeouts{regtransport.Shortened(answer, idle), reach}
		return nil
	}
}

// RegistryTimeoutError is a request to the registry that got no answer,
// or no byte of its answer's body, in time.
type RegistryTimeoutError = regtransport.TimeoutError

// TooLargeError is a registry answer longer than larder reads of its
// kind.
type TooLargeError = regtransport.TooLargeError

// lazyTransport is an authenticated transport, made on first use. The
// ping and token exchange run once for every caller waiting at the time,
// bounded by reachTimeout; each caller waits at most until its own
// context ends, and a failure is not kept: the next request tries again.
type lazyTransport struct {
	rt     atomic.Pointer[http.RoundTripper]
	flight singleflight.Group

	// testHookWaiting, set by tests only, runs once a caller that found
	// no transport waits for the flight making one.
	testHookWaiting func()
}

func (l *lazyTransport) get(ctx context.Context, c *Cache, scope string) (http.RoundTripper, error) {
	if rt := l.rt.Load(); rt != nil {
		return *rt, nil
	}
	ch := l.flight.DoChan("", func() (any, error) {
		// A caller that found no transport above may arrive here after
		// the flight that made one has ended: it takes that one rather
		// than pinging again.
		if rt := l.rt.Load(); rt != nil {
			return *rt, nil
		}
		// The attempt outlives a caller that gives up: the others wait
		// for it.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeouts.reach)
		defer cancel()
		rt, err := transport.NewWithContext(actx, c.repo.Registry, c.auth, c.base, []string{c.repo.Scope(scope)})
		if err != nil {
			if actx.Err() != nil {
				err = fmt.Errorf("%w: no answer in %v", err, c.timeouts.reach)
			}
			return nil, fmt.Errorf("reaching %s: %w", c.repo.RegistryStr(), err)
		}
		l.rt.Store(&rt)
		return rt, nil
	})
	if l.testHookWaiting != nil {
		l.testHookWaiting()
	}
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(http.RoundTripper), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("reaching %s: %w", c.repo.RegistryStr(), context.Cause(ctx))
	}
}
