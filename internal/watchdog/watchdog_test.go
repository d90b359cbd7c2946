package watchdog

import (
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/larder-build/larder/internal/slowtest"
)

func TestATransferThatTricklesIsCutOnceItHasRunItsIdleTime(t *testing.T) {
	t.Parallel()
	// The idle time is roomy against the 30 ms between bytes: on a
	// loaded machine a pause of 30 ms can stretch to a few hundred, and
	// the idle cut would run.
	const idle = time.Second
	var cut atomic.Bool
	w := Start(idle, func() { cut.Store(true) })
	defer w.Stop()
	// A byte every 30 ms never leaves the idle cut's second to run out,
	// and averages 33 bytes a second.
	start := time.Now()
	_, err := io.ReadAll(w.Reader(&slowtest.Reader{Chunk: 1, Pause: 30 * time.Millisecond, Left: 1000}))
	if !errors.Is(err, ErrTooSlow) {
		t.Fatalf("err %v, want ErrTooSlow", err)
	}
	if took := time.Since(start); took > 5*idle {
		t.Errorf("cut after %v, want soon after the %v idle time", took, idle)
	}
	if cut.Load() {
		t.Error("the idle cut ran although bytes kept coming")
	}
}

func TestAStalledTransferIsCutByTheIdleTimer(t *testing.T) {
	cut := make(chan struct{})
	w := Start(50*time.Millisecond, func() { close(cut) })
	defer w.Stop()
	select {
	case <-cut:
	case <-time.After(5 * time.Second):
		t.Fatal("the idle cut did not run")
	}
}

func TestAFastTransferAndOneThatEndsAreNotCut(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    io.Reader
	}{
		{"a fast body", strings.NewReader(strings.Repeat("x", 1<<20))},
		{"a body whose last read comes with EOF", iotest.DataErrReader(strings.NewReader("tiny"))},
		{"an empty body", strings.NewReader("")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := Start(time.Minute, func() { t.Error("cut") })
			defer w.Stop()
			if _, err := io.ReadAll(w.Reader(tc.r)); err != nil {
				t.Errorf("err %v", err)
			}
		})
	}
}

// TestBeginMeasuresTheRateFromTheBody: an answer that took longer than
// the idle time to begin has the idle time's worth of MinRate from
// Begin, not from the request. The idle time is a second, not tens of
// milliseconds: Arrived must come within it of Begin, and on a loaded
// machine a goroutine can wait that long to run again.
func TestBeginMeasuresTheRateFromTheBody(t *testing.T) {
	t.Parallel()
	const idle = time.Second
	w := Start(idle, func() {})
	defer w.Stop()
	time.Sleep(idle * 3 / 2) // waiting for the answer
	w.Begin()
	if err := w.Arrived(10); err != nil {
		t.Errorf("a body's first bytes were measured from the request: %v", err)
	}
	time.Sleep(idle * 3 / 2)
	if err := w.Arrived(1); !errors.Is(err, ErrTooSlow) {
		t.Errorf("11 bytes in 1.5 s: err %v, want ErrTooSlow", err)
	}
}
