package resolver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/pylock"
	"github.com/larder-build/larder/resolver/target"
)

// pagePeakIndex is a real index client that records the most page
// look-ups it ever had in flight at once.
type pagePeakIndex struct {
	*index.Client
	cur, peak atomic.Int64
}

func (x *pagePeakIndex) Project(ctx context.Context, name string) (*index.Page, error) {
	n := x.cur.Add(1)
	for p := x.peak.Load(); n > p && !x.peak.CompareAndSwap(p, n); p = x.peak.Load() {
	}
	defer x.cur.Add(-1)
	return x.Client.Project(ctx, name)
}

// TestRelockRevalidatesThePreviousLocksPagesAtOnce re-locks a chain of
// eight projects (each depends on the next) a day later, when every page
// is stale: given the previous lock, all eight pages are revalidated at
// once instead of one level after another, the metadata of the locked
// files comes from the cache, and the lock is the one a re-lock without it makes, a release
// since the previous lock included.
func TestRelockRevalidatesThePreviousLocksPagesAtOnce(t *testing.T) {
	const depth = 8
	chain := func(newest string) *pypitest.Index { return linkChain(depth, newest) }
	tests := []struct {
		name     string
		previous string // the previous lock's contents: "" none, "first" the first lock
		release  string // a release of the last link published after the first lock
		// minPeak and maxPeak bound the pages looked up at once.
		minPeak, maxPeak int64
		wantLast         string
	}{
		{name: "with the previous lock every page is revalidated at once", previous: "first", minPeak: depth / 2, maxPeak: depth + 2, wantLast: "1.1"},
		{name: "without one the chain is revalidated a level at a time", previous: "", minPeak: 1, maxPeak: 3, wantLast: "1.1"},
		{name: "an unreadable previous lock is ignored", previous: "lock-version = [", minPeak: 1, maxPeak: 3, wantLast: "1.1"},
		{name: "a release since the previous lock is chosen", previous: "first", release: "2.0", minPeak: depth / 2, maxPeak: depth + 2, wantLast: "2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// No Cache-Control: every page is stale as soon as it is stored,
			// as PyPI's are ten minutes later.
			srv := pypitest.Start(t, chain(""))
			srv.SetLatency(50 * time.Millisecond)
			dir := t.TempDir()
			roots := filepath.Join(dir, "requirements.txt")
			if err := os.WriteFile(roots, []byte("link0\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			cache, lockPath := t.TempDir(), filepath.Join(dir, "pylock.toml")
			lock := func() (*Locked, *pagePeakIndex) {
				t.Helper()
				c, err := index.New([]string{srv.URL()}, index.WithCacheDir(cache), index.WithRetries(0, 0))
				if err != nil {
					t.Fatal(err)
				}
				ix := &pagePeakIndex{Client: c}
				locked, err := Lock(context.Background(), LockRequest{
					Requirements: []string{roots}, Targets: []target.Target{mustTarget(t, "linux/amd64:3.11:glibc2.36")},
					IndexURLs: []string{srv.URL()}, Previous: lockPath,
				}, WithIndex(ix))
				if err != nil {
					t.Fatal(err)
				}
				return locked, ix
			}
			first, _ := lock()
			switch tt.previous {
			case "first":
				if err := pylock.WriteFile(lockPath, first.Lock); err != nil {
					t.Fatal(err)
				}
			case "":
			default:
				if err := os.WriteFile(lockPath, []byte(tt.previous), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.release != "" {
				if err := srv.SetIndex(chain(tt.release)); err != nil {
					t.Fatal(err)
				}
			}
			srv.Reset()
			again, ix := lock()
			if peak := ix.peak.Load(); peak < tt.minPeak || peak > tt.maxPeak {
				t.Errorf("%d pages looked up at once, want %d to %d", peak, tt.minPeak, tt.maxPeak)
			}
			checkRelockedChain(t, again.Result, depth, tt.wantLast)
			counts := srv.Counts()
			for i := range depth {
				page := fmt.Sprintf("/simple/link%d/", i)
				if n := counts[page]; n != 1 {
					t.Errorf("%s requested %d times, want once", page, n)
				}
			}
			for _, p := range first.Lock.Packages {
				for _, w := range p.Wheels {
					if n := counts["/files/"+w.Name+".metadata"]; n != 0 {
						t.Errorf("metadata of %s requested %d times on a re-lock: the cache has it", w.Name, n)
					}
				}
			}
		})
	}
}

// linkChain is an index of depth projects, link0 to link<depth-1>, each of
// versions 1.0 and 1.1 requiring the next; the last has newest too, if
// given.
func linkChain(depth int, newest string) *pypitest.Index {
	idx := &pypitest.Index{}
	for i := range depth {
		var requires []string
		if i+1 < depth {
			requires = []string{fmt.Sprintf("link%d>=1", i+1)}
		}
		rels := []pypitest.Release{pure("1.0", requires...), pure("1.1", requires...)}
		if i == depth-1 && newest != "" {
			rels = append(rels, pure(newest))
		}
		idx.Projects = append(idx.Projects, pypitest.Project{Name: fmt.Sprintf("link%d", i), Releases: rels})
	}
	return idx
}

// checkRelockedChain fails t unless r pins the depth links of a linkChain,
// the last at wantLast.
func checkRelockedChain(t *testing.T, r *Result, depth int, wantLast string) {
	t.Helper()
	var got []string
	for _, p := range r.Packages {
		got = append(got, p.Name+"=="+p.Version.String())
	}
	want := fmt.Sprintf("link%d==%s", depth-1, wantLast)
	if len(got) != depth || got[depth-1] != want {
		t.Errorf("re-locked %s, want %d links ending with %s", strings.Join(got, " "), depth, want)
	}
}
