package watchdog

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestASenderThatTricklesAfterAFastStartIsCutSoonAfterItSlows: a server
// that sends 1 MiB at once and then a byte every 50 ms, never idle, was
// cut only once its whole average fell under MinRate: 1 MiB bought 1,024
// times the idle time (with the real 60 s, 10 MB bought three hours and a
// 1 GB blob twelve days). Bytes ahead of MinRate now count for no more
// than the idle time's worth, so it is cut about the idle time after it
// slows down.
//
// The idle time is a second, roomy against the 50 ms between bytes: the
// idle cut must not run, and on a loaded machine a 50 ms pause can
// stretch to a few hundred.
func TestASenderThatTricklesAfterAFastStartIsCutSoonAfterItSlows(t *testing.T) {
	t.Parallel()
	const idle = time.Second
	fast := bytes.Repeat([]byte("x"), 1<<20)
	slowed := make(chan time.Time, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "2000000")
		w.Write(fast)
		w.(http.Flusher).Flush()
		slowed <- time.Now()
		for range 20000 { // 1,000 s at most
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
			w.Write([]byte("x"))
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var cut atomic.Bool
	w := Start(idle, func() { cut.Store(true) })
	defer w.Stop()
	done := make(chan error, 1)
	var n int64
	go func() {
		var err error
		n, err = io.Copy(io.Discard, w.Reader(resp.Body))
		done <- err
	}()
	select {
	case err := <-done:
		at := <-slowed
		if !errors.Is(err, ErrTooSlow) {
			t.Fatalf("after %d bytes: err %v, want ErrTooSlow", n, err)
		}
		if took := time.Since(at); took > 4*idle {
			t.Errorf("cut %v after the sender slowed down, want about %v", took, idle)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a trickle after a fast start was not cut in 20 s")
	}
	if cut.Load() {
		t.Error("the idle cut ran although bytes kept coming")
	}
}

// zeroReader returns no bytes and no error, for ever.
type zeroReader struct{ reads atomic.Int64 }

func (z *zeroReader) Read([]byte) (int, error) {
	z.reads.Add(1)
	time.Sleep(time.Millisecond)
	return 0, nil
}

// TestReadsOfNothingPutNothingOff: a body whose reads return no bytes
// and no error neither puts the idle cut off nor counts as progress.
func TestReadsOfNothingPutNothingOff(t *testing.T) {
	cut := make(chan struct{})
	w := Start(100*time.Millisecond, func() { close(cut) })
	defer w.Stop()
	r := w.Reader(&zeroReader{})
	start := time.Now()
	var err error
	for time.Since(start) < 5*time.Second && err == nil {
		_, err = r.Read(make([]byte, 8))
	}
	if !errors.Is(err, ErrTooSlow) {
		t.Errorf("reads of nothing for %v: err %v, want ErrTooSlow", time.Since(start), err)
	}
	select {
	case <-cut:
	case <-time.After(5 * time.Second):
		t.Error("reads of nothing put the idle cut off")
	}
}

// TestBeginPutsTheIdleCutOff: the answer's headers arrived, so the idle
// cut counts from Begin, not from the request: an answer that took most
// of the idle time to begin still has the whole idle time for its body.
// Each wait is a second short of the idle time, and the two together a
// second over it: on a loaded machine a sleep can overrun by hundreds of
// milliseconds.
func TestBeginPutsTheIdleCutOff(t *testing.T) {
	t.Parallel()
	const idle, wait = 3 * time.Second, 2 * time.Second
	var cut atomic.Bool
	w := Start(idle, func() { cut.Store(true) })
	defer w.Stop()
	time.Sleep(wait) // the headers take their time
	w.Begin()
	time.Sleep(wait) // the body's first bytes too
	if cut.Load() {
		t.Fatalf("cut %v after the headers arrived, with an idle time of %v", wait, idle)
	}
	if err := w.Arrived(1 << 10); err != nil {
		t.Errorf("a body %v after its headers: %v", wait, err)
	}
}

// TestTenMegabytesAtOnceThenAByteEvery59sIsCutInTwoMinutes: the brief's
// case with the real 60 s idle time: the average since the start stays
// over 1 KiB/s for 10,240 s (2 h 50 min); the meter cuts it at the second
// byte of the trickle, 118 s after it began.
func TestTenMegabytesAtOnceThenAByteEvery59sIsCutInTwoMinutes(t *testing.T) {
	m := NewMeter(60 * time.Second)
	at := time.Second
	if err := m.Add(10<<20, at); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 200; i++ {
		at += 59 * time.Second
		if err := m.Add(1, at); err != nil {
			if after := at - time.Second; after != 118*time.Second {
				t.Errorf("cut %v after the trickle began, want 118s", after)
			}
			return
		}
	}
	t.Fatalf("not cut after %v of a byte every 59 s", at)
}

func TestTheMeterHoldsATransferToTheMinimumRate(t *testing.T) {
	const grace = 10 * time.Second
	type add struct {
		n    int64
		took time.Duration
	}
	for _, tc := range []struct {
		name string
		adds []add
		cut  bool
	}{
		{"nothing within the grace", []add{{0, grace}}, false},
		{"nothing past the grace", []add{{0, grace + time.Millisecond}}, true},
		{"MinRate exactly, for long", []add{{0, 0}, {100 * MinRate, 100 * time.Second}, {1000 * MinRate, 1000 * time.Second}}, false},
		{"half MinRate, past twice the grace", []add{{MinRate / 2 * 21, 21 * time.Second}}, true},
		{"half MinRate, within twice the grace", []add{{MinRate / 2 * 19, 19 * time.Second}}, false},
		{"a fast start, then nothing for the grace", []add{{1 << 30, time.Second}, {0, time.Second + grace}}, false},
		{"a fast start, then nothing past the grace", []add{{1 << 30, time.Second}, {0, time.Second + grace + time.Millisecond}}, true},
		{"a pause just under the grace, then fast again, twice", []add{{1 << 20, time.Second}, {1 << 20, 10 * time.Second}, {1 << 20, 19 * time.Second}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMeter(grace)
			var err error
			for _, a := range tc.adds {
				if err = m.Add(a.n, a.took); err != nil {
					break
				}
			}
			if got := errors.Is(err, ErrTooSlow); got != tc.cut {
				t.Errorf("cut %v (%v), want %v", got, err, tc.cut)
			}
		})
	}
}
