package wheelhouse

import (
	"context"
	"sync"
)

// forEachLimit calls do for every item, at most limit at once, and starts
// none after a call has failed or ctx has ended. It returns when every
// call started has returned: with the first error a call returned, else
// with ctx's error if ctx has ended (some items may then not have been
// started). It is errgroup's bounded group with its context (SetLimit,
// WithContext), kept here because the store, and with it larder-index,
// stays on the standard library.
func forEachLimit[T any](ctx context.Context, limit int, items []T, do func(T) error) error {
	stop, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	sem := make(chan struct{}, max(limit, 1))
	for _, it := range items {
		select {
		case sem <- struct{}{}:
		case <-stop.Done():
		}
		// A slot and a done context may both be ready; select picks
		// either, so the context is asked again.
		if stop.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := do(it); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}
