package registrycache_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-build/larder/images/registrycache"
	"github.com/larder-build/larder/internal/flight/flighttest"
)

// TestACallerThatGivesUpOnThePingDoesNotFailTheOthersWaitingForIt: the
// caller whose request started the ping (and token exchange) gives up
// while another waits for the same ping: the one that gave up gets its
// own context's error at once, the other gets its answer once the
// registry answers, and the registry is pinged once.
func TestACallerThatGivesUpOnThePingDoesNotFailTheOthersWaitingForIt(t *testing.T) {
	t.Parallel()
	hold := flighttest.NewHold()
	c := hostileRegistry(t, 10*time.Second, 10*time.Second, func(<-chan struct{}) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/v2/" {
				http.NotFound(w, r) // no blob
				return
			}
			hold.Wait(r)
		})
		return mux
	})
	t.Cleanup(hold.Release) // before the registry closes, which waits for the handler
	// Both callers wait for the ping's flight: the first that started
	// it, then the second that joined it.
	var waiting atomic.Int32
	bothWaiting := make(chan struct{})
	registrycache.OnTransportWait(c, func() {
		if waiting.Add(1) == 2 {
			close(bothWaiting)
		}
	})
	has := func(ctx context.Context) error {
		_, err := c.Has(ctx, someSum)
		return err
	}
	errOf := func(err error) error { return err }
	if err := flighttest.GiveUp(t, has, errOf, hold.Started(), bothWaiting, hold.Release); err != nil {
		t.Errorf("the caller that waited: %v, want its answer", err)
	}
	if n := hold.Asked(); n != 1 {
		t.Errorf("%d pings, want 1", n)
	}
}
