package ocilayout_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/larder-build/larder/internal/ocilayout"
)

// TestOneLayoutReachedByTwoPathsIsOneHoldAndCleanedUp: a process holding
// a layout through a symbolic link and through its own name holds it
// once, so the clean-up the first Use out asks for is run by the last,
// as the process leaves it; not before, and not never.
func TestOneLayoutReachedByTwoPathsIsOneHoldAndCleanedUp(t *testing.T) {
	ctx := context.Background()
	real := filepath.Join(t.TempDir(), "real")
	newLayout(t, real)
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	for _, order := range []string{"writer first out", "reader first out"} {
		t.Run(order, func(t *testing.T) {
			w, err := ocilayout.Take(ctx, link, true, nil)
			if err != nil {
				t.Fatal(err)
			}
			r, err := ocilayout.Take(ctx, real, false, nil)
			if err != nil || r == nil {
				t.Fatalf("reading the layout by its name: %v, %v", r, err)
			}
			ran := 0
			clean := func() error { ran++; return nil }
			if order == "writer first out" {
				if err := w.CleanUp(clean); err != nil {
					t.Fatal(err)
				}
				if ran != 0 {
					t.Fatal("the clean-up ran while the process still read the layout")
				}
				r.Close()
			} else {
				r.Close()
				if err := w.CleanUp(clean); err != nil {
					t.Fatal(err)
				}
			}
			if ran != 1 {
				t.Fatalf("the clean-up ran %d times once the process left the layout, want once", ran)
			}
			w.Close() // after CleanUp: nothing more
			if ran != 1 {
				t.Fatalf("a Close after CleanUp ran the clean-up again")
			}
		})
	}
	// Another process's hold still defers it.
	if got := startHolderSelf(t, real); got != "held" {
		t.Fatalf("the other process got %q, want a hold", got)
	}
	w, err := ocilayout.Take(ctx, link, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	ran := false
	if err := w.CleanUp(func() error { ran = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if ran {
		t.Error("the clean-up ran while another process held the layout")
	}
}
