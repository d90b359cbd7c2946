package ocilayout

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/flock"
)

// TestHoldersFinishingAtOnceLeaveOneToCleanUp: two holders of a layout
// that finish at once (each its own open of the lock file, as two
// processes have) cannot both be refused the lock alone, so one of them
// cleans up; with a third still in, neither is, and the third, coming out
// last, is granted it.
func TestHoldersFinishingAtOnceLeaveOneToCleanUp(t *testing.T) {
	path := filepath.Join(t.TempDir(), UseLock)
	hold := func() *os.File {
		t.Helper()
		f, err := flock.Open(path, true)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := flock.TryLock(f, false); err != nil || !ok {
			t.Fatalf("a shared lock with only shared holders: %t, %v", ok, err)
		}
		return f
	}
	deadline := time.Now().Add(10 * time.Second)
	for round := 0; round < 300 && time.Now().Before(deadline); round++ {
		third := round%3 == 0
		var last *os.File
		if third {
			last = hold()
		}
		fs := []*os.File{hold(), hold()}
		granted := make([]bool, len(fs))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, f := range fs {
			wg.Go(func() {
				<-start
				ok, err := lastOut(f)
				if err != nil {
					t.Error(err)
				}
				granted[i] = ok
				if ok {
					f.Close() // the clean-up ends, and the hold with it
				}
			})
		}
		close(start)
		wg.Wait()
		for _, f := range fs {
			f.Close()
		}
		switch {
		case third && (granted[0] || granted[1]):
			t.Fatalf("round %d: a holder was granted the lock alone while a third held it: %v", round, granted)
		case third:
			if ok, err := lastOut(last); err != nil || !ok {
				t.Fatalf("round %d: the last holder out was refused the lock alone: %t, %v", round, ok, err)
			}
			last.Close()
		case !granted[0] && !granted[1]:
			t.Fatalf("round %d: two holders finishing at once were both refused the lock alone: no one cleans up", round)
		}
	}
}
