package flock_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/flock"
)

// TestLocksOfTwoOpensOfOneFile: two opens of a file are two holders (as
// two processes are): shared with shared, exclusive with neither; a wait
// ends with its context, naming why; Unlock lets the other in.
func TestLocksOfTwoOpensOfOneFile(t *testing.T) {
	if !flock.Works {
		t.Skip("no flock(2) here")
	}
	path := filepath.Join(t.TempDir(), "lock")
	open := func() *os.File {
		t.Helper()
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|flock.NoFollow, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	a, b := open(), open()
	for _, tt := range []struct {
		what      string
		f         *os.File
		exclusive bool
		want      bool
	}{
		{"a shared", a, false, true},
		{"b shared beside a", b, false, true},
		{"b alone beside a's shared", b, true, false},
	} {
		if ok, err := flock.TryLock(tt.f, tt.exclusive); err != nil || ok != tt.want {
			t.Fatalf("%s: %t, %v; want %t", tt.what, ok, err, tt.want)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*flock.Poll)
	defer cancel()
	if err := flock.Wait(ctx, b, true); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a wait for a lock held to its end: %v", err)
	}
	if err := flock.Unlock(a); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := flock.Wait(ctx, b, true); err != nil {
		t.Fatalf("b alone once a let go: %v", err)
	}
	if ok, err := flock.TryLock(a, false); err != nil || ok {
		t.Fatalf("a shared beside b's exclusive: %t, %v", ok, err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	if f, err := os.OpenFile(link, os.O_RDWR|flock.NoFollow, 0); err == nil {
		f.Close()
		t.Error("an open with NoFollow followed a symbolic link")
	}
}
