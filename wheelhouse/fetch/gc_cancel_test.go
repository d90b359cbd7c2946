package fetch

import (
	"context"
	"errors"
	"os"
	"testing"
)

// TestGCRemovesNothingOnceItsContextHasEnded: an interrupted 'larder gc
// --force' (its context ended) says so and leaves every file, and a
// store that still verifies clean against the old lock.
func TestGCRemovesNothingOnceItsContextHasEnded(t *testing.T) {
	_, lock := lockIndex(t, smallIndex(), []string{"app"}, []string{amd64})
	s := newStore(t)
	if _, err := Fetch(context.Background(), s, lock, fastOptions()...); err != nil {
		t.Fatal(err)
	}
	writeFile(t, s.Path("stray-1.0.tar.gz"), "x")
	before := lockedFiles(lock)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err := GC(ctx, s, withoutPackage(lock, "app"), false)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("gc with an ended context: %v, want context.Canceled", err)
	}
	if r != nil && r.Removed {
		t.Errorf("gc with an ended context reports files removed: %+v", r)
	}
	for _, name := range append(before, "stray-1.0.tar.gz") {
		if _, err := os.Lstat(s.Path(name)); err != nil {
			t.Errorf("gc with an ended context removed %s", name)
		}
	}
	// Only the stray file is wrong: nothing the lock needs was touched.
	r2, err := Verify(context.Background(), reopen(t, s), lock)
	if err != nil {
		t.Fatal(err)
	}
	if len(r2.Problems) != 1 || r2.Problems[0].File != "stray-1.0.tar.gz" {
		t.Errorf("after an interrupted gc verify finds %+v, want only the stray file", r2.Problems)
	}
}

// TestVerifyReturnsTheContextsErrorAndNoReport: a verification that
// could not read every file returns no report, which would read as
// clean.
func TestVerifyReturnsTheContextsErrorAndNoReport(t *testing.T) {
	_, lock := lockIndex(t, smallIndex(), []string{"app"}, []string{amd64})
	s := newStore(t)
	if _, err := Fetch(context.Background(), s, lock, fastOptions()...); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err := Verify(ctx, s, lock)
	if !errors.Is(err, context.Canceled) || r != nil {
		t.Errorf("verify with an ended context: %+v, %v; want no report and context.Canceled", r, err)
	}
}
