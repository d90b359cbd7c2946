package par

import (
	"runtime"
	"sync/atomic"
	"testing"
)

func TestForCallsEveryIterationOnce(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8))
	for _, tt := range []struct{ n, least, most int }{
		{0, 1, 0}, {1, 1, 0}, {7, 1, 0}, {63, 64, 0}, {64, 64, 0}, {1000, 64, 0}, {1000, 1, 3}, {1001, 0, 0},
	} {
		calls := make([]atomic.Int32, tt.n)
		var running, most atomic.Int32
		For(tt.n, tt.least, tt.most, func(i int) {
			if r := running.Add(1); r > most.Load() {
				most.Store(r)
			}
			calls[i].Add(1)
			running.Add(-1)
		})
		for i := range calls {
			if c := calls[i].Load(); c != 1 {
				t.Fatalf("For(%d, %d, %d): iteration %d called %d times", tt.n, tt.least, tt.most, i, c)
			}
		}
		if tt.most > 0 && int(most.Load()) > tt.most {
			t.Errorf("For(%d, %d, %d): %d at once", tt.n, tt.least, tt.most, most.Load())
		}
	}
}
