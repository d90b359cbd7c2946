package serve

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestAClientSlotGivenBackLetsOneWaiterThrough: a client holds both its
// slots while five more of its requests wait; each slot given back lets
// exactly one of them through, and another client's request takes a slot
// of its own at once.
func TestAClientSlotGivenBackLetsOneWaiterThrough(t *testing.T) {
	s := &clientSlots{size: 2}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for range 2 {
		if err := s.acquire(ctx, "a"); err != nil {
			t.Fatal(err)
		}
	}
	const waiters = 5
	through := make(chan error, waiters)
	for range waiters {
		go func() { through <- s.acquire(ctx, "a") }()
	}
	other := make(chan error, 1)
	go func() { other <- s.acquire(ctx, "b") }()
	select {
	case err := <-other:
		if err != nil {
			t.Fatalf("another client's slot: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("another client waited for the first client's slots")
	}
	s.release("b")
	select {
	case err := <-through:
		t.Fatalf("a waiter got through (%v) while the client held every slot", err)
	case <-time.After(100 * time.Millisecond):
	}
	for i := range waiters {
		s.release("a")
		select {
		case err := <-through:
			if err != nil {
				t.Fatalf("waiter %d: %v", i, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("slot %d given back: no waiter got through", i)
		}
		select {
		case err := <-through:
			t.Fatalf("slot %d given back: a second waiter got through (%v)", i, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	s.release("a")
	s.release("a")
	if n := s.clients(); n != 0 {
		t.Errorf("%d clients kept once every slot was given back, want 0", n)
	}
}

// TestAWaiterWhoseRequestEndsHoldsNoSlotAndIsForgotten: requests waiting
// for a slot whose context ends (a client that disconnected, a deadline)
// return its error at once and take nothing: the slots they waited for
// are all there for the next, and a client with no slot held or waited
// for is not kept, however many came and went.
func TestAWaiterWhoseRequestEndsHoldsNoSlotAndIsForgotten(t *testing.T) {
	s := &clientSlots{size: 1}
	bound, stop := context.WithTimeout(t.Context(), 10*time.Second)
	defer stop()
	if err := s.acquire(bound, "a"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		// Half end by a deadline, half are cancelled while they wait.
		var ctx context.Context
		var cancel context.CancelFunc
		if i%2 == 0 {
			ctx, cancel = context.WithTimeout(bound, 20*time.Millisecond)
		} else {
			ctx, cancel = context.WithCancel(bound)
			time.AfterFunc(10*time.Millisecond, cancel)
		}
		wg.Go(func() {
			defer cancel()
			errs <- s.acquire(ctx, "a")
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("a waiter whose context ended: %v, want its context's error", err)
		}
	}
	s.release("a")
	if n := s.clients(); n != 0 {
		t.Errorf("%d clients kept once the last slot was given back, want 0", n)
	}
	// The slot is free: taken at once.
	if err := s.acquire(bound, "a"); err != nil {
		t.Fatal(err)
	}
	s.release("a")

	// Many clients, each once: none is kept after.
	for i := range 1000 {
		c := fmt.Sprintf("198.51.100.%d", i)
		if err := s.acquire(bound, c); err != nil {
			t.Fatal(err)
		}
		s.release(c)
	}
	if n := s.clients(); n != 0 {
		t.Errorf("%d clients kept after 1000 came and went, want 0", n)
	}
}
