// Package par runs the iterations of a loop on several cores, for loops
// whose iterations are too cheap to be a goroutine each (rendering or
// hashing a page, checking a file): each worker takes one run of them.
package par

import (
	"runtime"
	"sync"
)

// For calls fn(i) for every i in [0, n), on as many goroutines as there
// are cores (at most most, when most > 0), each taking a run of
// consecutive iterations of at least least, and returns once every call
// has. fn must be safe to call at once for different i.
func For(n, least, most int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), max(1, n/max(least, 1)))
	if most > 0 {
		workers = min(workers, most)
	}
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w * n / workers; i < (w+1)*n/workers; i++ {
				fn(i)
			}
		})
	}
	wg.Wait()
}
