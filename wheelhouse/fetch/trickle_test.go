package fetch

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/watchdog"
)

// TestAWheelThatTricklesAfterAFastStartIsCutNamingItsURL: a server that
// sends most of the wheel at once and then a byte every 20 ms (never idle
// for the stall time) is cut, for good (one request, no retry), and the
// error names the wheel's URL, not only its file name (as a stalled one's
// does: TestAStalledWheelIsRetriedNamingItsURL). (The bytes sent
// first are bounded by the lock's size, so they bought at most size/1 KiB
// seconds before the watchdog's rate was capped; internal/watchdog tests
// the cap.) The stall time is a second, roomy against the 20 ms between
// bytes: a stall is retried, and on a loaded machine a 20 ms pause can
// stretch to a few hundred.
func TestAWheelThatTricklesAfterAFastStartIsCutNamingItsURL(t *testing.T) {
	_, lock := lockIndex(t, smallIndex(), []string{"app"}, []string{amd64})
	pi, wi := libWheelOf(t, lock)
	size := int64(lock.Packages[pi].Wheels[wi].Size)
	const stall = time.Second
	var requests atomic.Int64
	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		w.Write(make([]byte, size-100))
		w.(http.Flusher).Flush()
		for range 100000 {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
			w.Write([]byte{0})
			w.(http.Flusher).Flush()
		}
	}))
	defer hostile.Close()
	u := hostile.URL + "/" + libWheel
	l := withWheelURL(lock, pi, wi, u)
	s := newStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	_, err := Fetch(ctx, s, l, fastOptions(WithRetries(2), func(o *options) error { o.stall = stall; return nil })...)
	if !errors.Is(err, watchdog.ErrTooSlow) {
		t.Fatalf("after %v: %v; want the trickle cut", time.Since(start).Round(time.Millisecond), err)
	}
	if took := time.Since(start); took > 10*stall {
		t.Errorf("cut after %v; want about %v after the fast start", took, stall)
	}
	if !strings.Contains(err.Error(), u) {
		t.Errorf("%v: does not name the URL %s", err, u)
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("%d requests; a trickle is cut for good", n)
	}
	assertNothingKept(t, s, libWheel)
}

// TestAStalledWheelIsRetriedNamingItsURL: a server that sends nothing of
// the body for the stall time is retried, and the error names the URL
// (with no password).
func TestAStalledWheelIsRetriedNamingItsURL(t *testing.T) {
	_, lock := lockIndex(t, smallIndex(), []string{"app"}, []string{amd64})
	pi, wi := libWheelOf(t, lock)
	var requests atomic.Int64
	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Length", "1000")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer hostile.Close()
	u := strings.Replace(hostile.URL, "http://", "http://user:secret@", 1) + "/" + libWheel
	l := withWheelURL(lock, pi, wi, u)
	s := newStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := Fetch(ctx, s, l, fastOptions(WithRetries(1), func(o *options) error { o.stall = 200 * time.Millisecond; return nil })...)
	if err == nil || !strings.Contains(err.Error(), "no data received for too long") {
		t.Fatalf("%v; want the stall", err)
	}
	if want := strings.Replace(u, "secret", "xxxxx", 1); !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "secret") {
		t.Errorf("%v: want it to name %s", err, want)
	}
	if n := requests.Load(); n != 2 {
		t.Errorf("%d requests; want two attempts", n)
	}
}

// TestAFailedDownloadNeverShowsTheURLsPassword: a lock may name a wheel
// at a URL with credentials; an answer of 404 names the URL without them.
func TestAFailedDownloadNeverShowsTheURLsPassword(t *testing.T) {
	_, lock := lockIndex(t, smallIndex(), []string{"app"}, []string{amd64})
	pi, wi := libWheelOf(t, lock)
	gone := httptest.NewServer(http.NotFoundHandler())
	defer gone.Close()
	u := strings.Replace(gone.URL, "http://", "http://user:secret@", 1) + "/" + libWheel
	_, err := Fetch(context.Background(), newStore(t), withWheelURL(lock, pi, wi, u), fastOptions(WithRetries(0))...)
	if err == nil || strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), "404") {
		t.Errorf("%v: want a 404 naming the URL without its password", err)
	}
}
