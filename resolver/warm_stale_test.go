package resolver

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/pylock"
	"github.com/larder-build/larder/resolver/target"
)

// TestRelockSearchesTheCachedPagesWhileTheyAreRevalidated re-locks a
// chain of projects a day later (every page stale) while the index holds
// back every page request until the search has examined the whole chain:
// the search reads the cached pages instead of waiting for their
// revalidation, and the lock is the one revalidating first gives, a
// release made since included (the search is then made again).
func TestRelockSearchesTheCachedPagesWhileTheyAreRevalidated(t *testing.T) {
	const depth = 6
	chain := func(newest string) *pypitest.Index { return linkChain(depth, newest) }
	tests := []struct {
		name     string
		release  string // a release of the last link published after the first lock
		wantLast string
	}{
		{"unchanged pages: the search never waits for them", "", "1.1"},
		{"a release since: the search is made again and chooses it", "2.0", "2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := pypitest.New(chain(""))
			if err := fake.Err(); err != nil {
				t.Fatal(err)
			}
			// Page requests wait for open (or 5 s) once hold is set.
			var hold, timedOut bool
			var holdMu sync.Mutex
			open := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				holdMu.Lock()
				h := hold
				holdMu.Unlock()
				if h && strings.HasPrefix(r.URL.Path, "/simple/") {
					select {
					case <-open:
					case <-time.After(5 * time.Second):
						holdMu.Lock()
						timedOut = true
						holdMu.Unlock()
					}
				}
				fake.ServeHTTP(w, r)
			}))
			defer srv.Close()
			dir := t.TempDir()
			roots := filepath.Join(dir, "requirements.txt")
			if err := os.WriteFile(roots, []byte("link0\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			cache, lockPath := t.TempDir(), filepath.Join(dir, "pylock.toml")
			lock := func(opts ...Option) *Locked {
				t.Helper()
				c, err := index.New([]string{srv.URL + "/simple/"}, index.WithCacheDir(cache), index.WithRetries(0, 0))
				if err != nil {
					t.Fatal(err)
				}
				locked, err := Lock(context.Background(), LockRequest{
					Requirements: []string{roots}, Targets: []target.Target{mustTarget(t, "linux/amd64:3.11:glibc2.36")},
					IndexURLs: []string{srv.URL + "/simple/"}, Previous: lockPath,
				}, append(opts, WithIndex(c))...)
				if err != nil {
					t.Fatal(err)
				}
				return locked
			}
			first := lock()
			if err := pylock.WriteFile(lockPath, first.Lock); err != nil {
				t.Fatal(err)
			}
			if tt.release != "" {
				if err := fake.SetIndex(chain(tt.release)); err != nil {
					t.Fatal(err)
				}
			}
			holdMu.Lock()
			hold = true
			holdMu.Unlock()
			var once sync.Once
			seen := map[string]bool{}
			openedBySearch := false
			again := lock(WithProgress(func(e Event) {
				if e.Restart {
					return
				}
				seen[e.Package] = true
				if len(seen) == depth {
					once.Do(func() { openedBySearch = true; close(open) })
				}
			}))
			holdMu.Lock()
			waited := timedOut
			holdMu.Unlock()
			if !openedBySearch || waited {
				t.Errorf("the search waited for the pages' revalidation (the index held them back 5 s; %d of %d links examined)", len(seen), depth)
			}
			checkRelockedChain(t, again.Result, depth, tt.wantLast)
		})
	}
}

// TestRelockProgressCountsTheSearchThatStands re-locks with a previous
// lock, its pages stale, with and without a release since: when a page
// changed and the search is made again, progress hears a Restart before
// the second search, so that a count reset by it ends at the versions the
// lock's own search examined, as many as a lock without a previous one
// hears, not the sum of both searches.
func TestRelockProgressCountsTheSearchThatStands(t *testing.T) {
	index1 := func(libs ...string) *pypitest.Index {
		var rels []pypitest.Release
		for _, v := range libs {
			rels = append(rels, pure(v, "dep>=1"))
		}
		return &pypitest.Index{Projects: []pypitest.Project{
			{Name: "app", Releases: []pypitest.Release{pure("1.0", "lib>=1")}},
			{Name: "lib", Releases: rels},
			{Name: "dep", Releases: []pypitest.Release{pure("1.0"), pure("1.1")}},
		}}
	}
	tests := []struct {
		name         string
		later        *pypitest.Index // the index at the re-lock
		wantRestarts int
		wantLib      string
	}{
		{"unchanged pages: one search, no restart", index1("1.0", "1.1"), 0, "1.1"},
		{"a release since: the search made again restarts the count", index1("1.0", "1.1", "2.0"), 1, "2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := pypitest.Start(t, index1("1.0", "1.1")) // no Cache-Control: stale at once
			cache := t.TempDir()
			req := Request{Requirements: reqs(t, "app"), Targets: []target.Target{mustTarget(t, "linux/amd64:3.11:glibc2.36")}}
			resolveCounting := func(prev *pylock.Lock) (res *Result, examined, restarts int) {
				t.Helper()
				c, err := index.New([]string{srv.URL()}, index.WithCacheDir(cache), index.WithRetries(0, 0))
				if err != nil {
					t.Fatal(err)
				}
				var mu sync.Mutex
				r := req
				r.Previous = prev
				res, err = Resolve(context.Background(), c, r, WithProgress(func(e Event) {
					mu.Lock()
					defer mu.Unlock()
					if e.Restart {
						examined = 0
						restarts++
						return
					}
					examined++
				}))
				if err != nil {
					t.Fatal(err)
				}
				return res, examined, restarts
			}
			first, _, _ := resolveCounting(nil)
			if err := srv.SetIndex(tt.later); err != nil {
				t.Fatal(err)
			}
			res, examined, restarts := resolveCounting(first.Lock())
			_, want, _ := resolveCounting(nil)
			if restarts != tt.wantRestarts {
				t.Errorf("%d restarts heard, want %d", restarts, tt.wantRestarts)
			}
			if examined != want {
				t.Errorf("the re-lock's progress counted %d versions examined, want %d (a lock without a previous one)", examined, want)
			}
			if got := pins(res, 0); !strings.Contains(got, "lib=="+tt.wantLib) {
				t.Errorf("re-locked %s, want lib==%s", got, tt.wantLib)
			}
		})
	}
}

// TestRelockDoesNotStandOnAPageItCouldNotRevalidate re-locks with a
// previous lock while the index fails one of the stale pages: the search
// made from the cached pages does not stand, and the re-lock fails as
// revalidating first would, instead of locking from the stale page.
func TestRelockDoesNotStandOnAPageItCouldNotRevalidate(t *testing.T) {
	srv := pypitest.Start(t, relockIndex()) // no Cache-Control: stale at once
	cache := t.TempDir()
	req := Request{Requirements: reqs(t, "app"), Targets: []target.Target{mustTarget(t, "linux/amd64:3.11:glibc2.36")}}
	first := resolveCached(t, srv.URL(), cache, req)
	srv.FailPath("/simple/dep/", pypitest.Fail500)
	req.Previous = first.Lock()
	c, err := index.New([]string{srv.URL()}, index.WithCacheDir(cache), index.WithRetries(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Resolve(context.Background(), c, req)
	if err == nil || !strings.Contains(err.Error(), "/simple/dep/") {
		t.Errorf("re-locked %v with %v, want the failure of dep's page", res != nil, err)
	}
}

// TestRelockCancelledWhileRevalidatingEndsPromptly cancels a re-lock
// whose search is done while the index holds back every revalidation:
// Resolve returns the cancellation at once, having waited for them, and
// leaves nothing half-written in the cache.
func TestRelockCancelledWhileRevalidatingEndsPromptly(t *testing.T) {
	fake := pypitest.New(relockIndex())
	if err := fake.Err(); err != nil {
		t.Fatal(err)
	}
	var holding atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if holding.Load() && strings.HasPrefix(r.URL.Path, "/simple/") {
			<-r.Context().Done() // held until the client gives up
			return
		}
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	cache := t.TempDir()
	req := Request{Requirements: reqs(t, "app"), Targets: []target.Target{mustTarget(t, "linux/amd64:3.11:glibc2.36")}}
	first := resolveCached(t, srv.URL+"/simple/", cache, req)
	holding.Store(true)
	req.Previous = first.Lock()
	c, err := index.New([]string{srv.URL + "/simple/"}, index.WithCacheDir(cache), index.WithRetries(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cancelled atomic.Int64 // when, in ns since start
	var once sync.Once
	start := time.Now()
	_, err = Resolve(ctx, c, req, WithProgress(func(e Event) {
		if e.Package == "dep" {
			// The search has read every page from the cache; the
			// revalidations are held.
			once.Do(func() {
				time.AfterFunc(100*time.Millisecond, func() { cancelled.Store(int64(time.Since(start))); cancel() })
			})
		}
	}))
	took := time.Since(start) - time.Duration(cancelled.Load())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled re-lock: %v, want context.Canceled", err)
	}
	if cancelled.Load() == 0 || took > 2*time.Second {
		t.Errorf("Resolve returned %v after the cancellation (cancelled: %v)", took, cancelled.Load() != 0)
	}
	err = filepath.WalkDir(cache, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".tmp-") {
			t.Errorf("half-written cache file %s", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// relockIndex is app, which requires lib, which requires dep.
func relockIndex() *pypitest.Index {
	return &pypitest.Index{Projects: []pypitest.Project{
		{Name: "app", Releases: []pypitest.Release{pure("1.0", "lib>=1")}},
		{Name: "lib", Releases: []pypitest.Release{pure("1.0", "dep"), pure("1.1", "dep")}},
		{Name: "dep", Releases: []pypitest.Release{pure("1.0"), pure("1.1")}},
	}}
}

// resolveCached resolves req against indexURL with a client caching in
// cache.
func resolveCached(t *testing.T, indexURL, cache string, req Request) *Result {
	t.Helper()
	c, err := index.New([]string{indexURL}, index.WithCacheDir(cache), index.WithRetries(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Resolve(context.Background(), c, req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestRelockStopsTheSearchFromTheCacheAtTheFirstChangedPage re-locks a
// chain whose root's page has changed since (an older release added,
// which the lock does not pick): the search made from the cached pages
// stops as soon as that page's revalidation comes back changed, instead
// of going on to the end of the chain for a result that cannot stand,
// and the search made again locks the same chain.
func TestRelockStopsTheSearchFromTheCacheAtTheFirstChangedPage(t *testing.T) {
	const depth = 10
	srv := pypitest.Start(t, linkChain(depth, "")) // no Cache-Control: stale at once
	cache := t.TempDir()
	req := Request{Requirements: reqs(t, "link0"), Targets: []target.Target{mustTarget(t, "linux/amd64:3.11:glibc2.36")}}
	resolveWith := func(prev *pylock.Lock, progress func(Event)) *Result {
		t.Helper()
		c, err := index.New([]string{srv.URL()}, index.WithCacheDir(cache), index.WithRetries(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		r := req
		r.Previous = prev
		res, err := Resolve(context.Background(), c, r, WithProgress(progress))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	first := resolveWith(nil, func(Event) {})
	changed := linkChain(depth, "")
	changed.Projects[0].Releases = append([]pypitest.Release{pure("0.9", "link1>=1")}, changed.Projects[0].Releases...)
	if err := srv.SetIndex(changed); err != nil {
		t.Fatal(err)
	}
	// Each version the search from the cache examines takes 200 ms: the
	// root's revalidation, started with the search, comes back long
	// before the search could reach the end of the chain (2 s), even on
	// a loaded machine; the search stops after one or two.
	var mu sync.Mutex
	examined, restarted := 0, false
	res := resolveWith(first.Lock(), func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		if e.Restart {
			restarted = true
			return
		}
		if !restarted {
			examined++
			time.Sleep(200 * time.Millisecond)
		}
	})
	if !restarted {
		t.Fatal("the changed page did not make the search start over")
	}
	if examined >= depth {
		t.Errorf("the search from the cache examined %d versions, the whole chain of %d, after its root's page came back changed", examined, depth)
	}
	checkRelockedChain(t, res, depth, "1.1")
}
