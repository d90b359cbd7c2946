package layers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/wheelhouse"
)

// sdistEntries are n projects of one sdist each, sorted by file name (as
// a plan's stack entries are).
func sdistEntries(n int) []wheelhouse.Entry {
	var es []wheelhouse.Entry
	for i := range n {
		name := fmt.Sprintf("p%04d", i)
		es = append(es, wheelhouse.Entry{Filename: name + "-1.0.tar.gz", Project: name, Version: "1.0",
			SHA256: strings.Repeat("ab", 32), Size: int64(i), Origin: wheelhouse.Origin{Kind: wheelhouse.OriginIndex}})
	}
	return es
}

// TestIndexesMadeAheadByWorkersAreTheSequentialOnes: the index made
// ahead with several workers is the index made with one, page for page,
// in the same order, with the same record.
func TestIndexesMadeAheadByWorkersAreTheSequentialOnes(t *testing.T) {
	for _, n := range []int{0, 1, 63, 64, 129, 300, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			entries := sdistEntries(n)
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8))
			c := Content{}
			platforms := []string{"linux/amd64", "linux/amd64", "linux/arm64"}
			c.Made = c.MakeIndexes(entries, platforms)
			c.Made.Wait()
			if len(c.Made.made) != 2 {
				t.Fatalf("%d made, want 2", len(c.Made.made))
			}
			runtime.GOMAXPROCS(1)
			want, err := c.makeIndex(entries)
			if err != nil {
				t.Fatal(err)
			}
			runtime.GOMAXPROCS(8)
			for _, p := range platforms {
				got, ok := c.Made.index(p, entries)
				if n == 0 {
					// imageEntries gives nil, the plan an empty list or nil.
					got, ok = c.Made.index(p, nil)
				}
				if !ok {
					t.Fatalf("%s: no index made ahead", p)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: the index made ahead differs from the sequential one", p)
				}
				for i, f := range got.pages {
					if s := sha256.Sum256(f.Data); hex.EncodeToString(s[:]) != f.SHA256 {
						t.Fatalf("page %d %s: sha256 is not its data's", i, f.Path)
					}
					if i > 0 && got.pages[i-1].Path >= f.Path {
						t.Fatalf("pages out of order at %d: %s after %s", i, f.Path, got.pages[i-1].Path)
					}
				}
			}
		})
	}
}

// TestIndexesOfABadPlatformEndWithAnError: a split that fails ends every
// index made ahead with the error, and Wait returns.
func TestIndexesOfABadPlatformEndWithAnError(t *testing.T) {
	c := Content{}
	c.Made = c.MakeIndexes(sdistEntries(3), []string{"linux/amd64", "nonsense", "nonsense"})
	done := make(chan struct{})
	go func() { c.Made.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Wait hangs")
	}
	for p, m := range c.Made.made {
		if m.err == nil {
			t.Errorf("%s: no error", p)
		}
		if _, ok := c.Made.index(p, sdistEntries(3)); ok {
			t.Errorf("%s: an index was taken", p)
		}
	}
}
