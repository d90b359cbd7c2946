package serve

import (
	"context"
	"sync"
)

// clientSlots bounds the work each client has under way at once: size
// slots per client, as a semaphore of its own (a buffered channel), so
// that a slot given back wakes one waiter, not every request of that
// client waiting. A client is kept only while one of its requests holds
// or waits for a slot: the memory it takes grows with the requests under
// way, not with the clients ever seen. Its size is set before use.
type clientSlots struct {
	size int

	mu sync.Mutex
	m  map[string]*clientSlot
}

// clientSlot is one client's semaphore and how many hold or wait for it.
type clientSlot struct {
	sem  chan struct{}
	refs int
}

// acquire takes one of client's slots, waiting for one as long as ctx
// lasts; it returns ctx's error when ctx ends first, holding nothing. A
// slot taken is given back with release.
func (s *clientSlots) acquire(ctx context.Context, client string) error {
	s.mu.Lock()
	c := s.m[client]
	if c == nil {
		if s.m == nil {
			s.m = map[string]*clientSlot{}
		}
		c = &clientSlot{sem: make(chan struct{}, s.size)}
		s.m[client] = c
	}
	c.refs++
	s.mu.Unlock()
	select {
	case c.sem <- struct{}{}:
		return nil
	default:
	}
	select {
	case c.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		s.forget(client, c)
		return ctx.Err()
	}
}

// release gives back a slot acquire took for client.
func (s *clientSlots) release(client string) {
	s.mu.Lock()
	c := s.m[client]
	s.mu.Unlock()
	if c == nil {
		return // nothing taken: a bug, but not one to end the server for
	}
	<-c.sem
	s.forget(client, c)
}

// forget counts one holder or waiter of c gone, and drops c once none
// is left: a client's next request starts afresh.
func (s *clientSlots) forget(client string, c *clientSlot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.refs--
	if c.refs == 0 && s.m[client] == c {
		delete(s.m, client)
	}
}

// clients is the number of clients holding or waiting for a slot.
func (s *clientSlots) clients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
