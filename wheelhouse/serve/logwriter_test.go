package serve

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/wheelhousetest"
)

func TestLogWriterKeepsConcurrentLinesWholeAndWritesThemOut(t *testing.T) {
	const writers, lines = 8, 2000 // 8×2000 lines of ~40 bytes overflow the buffer several times
	out := &wheelhousetest.Buffer{}
	lw := NewLogWriter(out)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range lines {
				fmt.Fprintf(lw, "writer=%d line=%05d padding-padding\n", g, i)
			}
		}()
	}
	wg.Wait()
	// The timer writes out what waits without a Close.
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(out.String(), "\n") < writers*lines && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := strings.Count(out.String(), "\n"); n != writers*lines {
		t.Errorf("%d lines written out before Close, want all %d", n, writers*lines)
	}
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(got) != writers*lines {
		t.Fatalf("%d lines written, want %d", len(got), writers*lines)
	}
	next := make([]int, writers)
	for _, l := range got {
		var g, i int
		if _, err := fmt.Sscanf(l, "writer=%d line=%d padding-padding", &g, &i); err != nil || g < 0 || g >= writers {
			t.Fatalf("line %q is not whole", l)
		}
		if i != next[g] {
			t.Fatalf("writer %d: line %d came after line %d", g, i, next[g]-1)
		}
		next[g]++
	}
	// After Close, a line goes out at once.
	fmt.Fprintln(lw, "after close")
	if !strings.HasSuffix(out.String(), "after close\n") {
		t.Errorf("a line written after Close was held back")
	}
}
