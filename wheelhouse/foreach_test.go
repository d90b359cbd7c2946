package wheelhouse

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// TestForEachLimitCallsEveryItemAtMostLimitAtOnce: with no error and a
// live context every item is called once, never more than limit at a time.
func TestForEachLimitCallsEveryItemAtMostLimitAtOnce(t *testing.T) {
	const limit = 3
	items := make([]int, 50)
	for i := range items {
		items[i] = i
	}
	var (
		mu             sync.Mutex
		called         = map[int]int{}
		running, worst atomic.Int32
	)
	err := forEachLimit(context.Background(), limit, items, func(i int) error {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			w := worst.Load()
			if n <= w || worst.CompareAndSwap(w, n) {
				break
			}
		}
		mu.Lock()
		called[i]++
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(called) != len(items) {
		t.Errorf("%d items called, want %d", len(called), len(items))
	}
	for i, n := range called {
		if n != 1 {
			t.Errorf("item %d called %d times", i, n)
		}
	}
	if w := worst.Load(); w > limit {
		t.Errorf("%d calls ran at once, the limit is %d", w, limit)
	}
}

// TestForEachLimitStartsNoneAfterTheFirstError: none is started after a
// call failed, and that error is the one returned. With one slot the
// next start waits for the failed call's slot, which it gives back only
// after its error was recorded: the one call is certain, not a race won.
func TestForEachLimitStartsNoneAfterTheFirstError(t *testing.T) {
	var calls atomic.Int32
	err := forEachLimit(context.Background(), 1, []int{0, 1, 2, 3}, func(i int) error {
		calls.Add(1)
		return fmt.Errorf("page %d failed", i)
	})
	if err == nil || err.Error() != "page 0 failed" {
		t.Errorf("forEachLimit returned %v, want the first error (page 0 failed)", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d calls, want 1: none started after the first error", n)
	}
}

// TestForEachLimitStartsNoneOnceItsContextEnded: an ended context starts
// nothing and is the error returned.
func TestForEachLimitStartsNoneOnceItsContextEnded(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var calls atomic.Int32
	err := forEachLimit(ctx, 4, []int{0, 1, 2, 3, 4, 5}, func(int) error {
		calls.Add(1)
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("forEachLimit returned %v, want context.Canceled", err)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("%d calls after the context ended, want none", n)
	}
}
