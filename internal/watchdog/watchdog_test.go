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
	var cut atomic.Bool
	w := Start(100*time.Millisecond, func() { cut.Store(true) })
	defer w.Stop()
	// A byte every 30 ms never leaves the idle cut's 100 ms to run out,
	// and averages 33 bytes a second.
	start := time.Now()
	_, err := io.ReadAll(w.Reader(&slowtest.Reader{Chunk: 1, Pause: 30 * time.Millisecond, Left: 1000}))
	if !errors.Is(err, ErrTooSlow) {
		t.Fatalf("err %v, want ErrTooSlow", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("cut after %v, want soon after the 100 ms idle time", took)
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

func TestBeginMeasuresTheRateFromTheBody(t *testing.T) {
	w := Start(20*time.Millisecond, func() {})
	defer w.Stop()
	time.Sleep(40 * time.Millisecond) // waiting for the answer
	w.Begin()
	if err := w.Arrived(10); err != nil {
		t.Errorf("a body's first bytes were measured from the request: %v", err)
	}
	time.Sleep(40 * time.Millisecond)
	if err := w.Arrived(1); !errors.Is(err, ErrTooSlow) {
		t.Errorf("11 bytes in 40 ms: err %v, want ErrTooSlow", err)
	}
}
