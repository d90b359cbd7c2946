package registrycache_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-build/larder/images/registrycache"
)

// TestACallerThatGivesUpOnThePingDoesNotFailTheOthersWaitingForIt: the
// caller whose request started the ping (and token exchange) gives up
// while another waits for the same ping: the one that gave up gets its
// own context's error at once, the other gets its answer once the
// registry answers, and the registry is pinged once.
func TestACallerThatGivesUpOnThePingDoesNotFailTheOthersWaitingForIt(t *testing.T) {
	t.Parallel()
	started, held := make(chan struct{}), make(chan struct{})
	var first, released sync.Once
	release := func() { released.Do(func() { close(held) }) }
	t.Cleanup(release)
	var pings atomic.Int32
	c := hostileRegistry(t, 10*time.Second, 10*time.Second, func(stop <-chan struct{}) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/v2/" {
				http.NotFound(w, r) // no blob
				return
			}
			pings.Add(1)
			hold := false
			first.Do(func() { hold = true })
			if hold {
				close(started)
				select {
				case <-held:
				case <-stop:
				case <-r.Context().Done():
				}
			}
		})
		return mux
	})
	// Both callers wait for the ping's flight: the first that started
	// it, then the second that joined it.
	var waiting atomic.Int32
	bothWaiting := make(chan struct{})
	registrycache.OnTransportWait(c, func() {
		if waiting.Add(1) == 2 {
			close(bothWaiting)
		}
	})
	within := func(ch <-chan struct{}, what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: not within 10 s", what)
		}
	}
	has := func(ctx context.Context) <-chan error {
		ch := make(chan error, 1)
		go func() {
			_, err := c.Has(ctx, someSum)
			ch <- err
		}()
		return ch
	}
	answer := func(ch <-chan error, who string) error {
		t.Helper()
		select {
		case err := <-ch:
			return err
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no answer within 10 s", who)
			return nil
		}
	}
	actx, cancelA := context.WithCancel(t.Context())
	defer cancelA()
	a := has(actx)
	within(started, "the first caller's ping reached the registry")
	b := has(t.Context())
	within(bothWaiting, "the second caller joined the ping's flight")
	cancelA()
	if err := answer(a, "the caller that gave up"); !errors.Is(err, context.Canceled) {
		t.Errorf("the caller that gave up: %v, want its context.Canceled", err)
	}
	release()
	if err := answer(b, "the caller that waited"); err != nil {
		t.Errorf("the caller that waited: %v, want its answer", err)
	}
	if n := pings.Load(); n != 1 {
		t.Errorf("%d pings, want 1", n)
	}
}
