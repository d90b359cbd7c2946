package resolver

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
	chain := func(newest string) *pypitest.Index {
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
			var got []string
			for _, p := range again.Result.Packages {
				got = append(got, p.Name+"=="+p.Version.String())
			}
			want := fmt.Sprintf("link%d==%s", depth-1, tt.wantLast)
			if len(got) != depth || got[depth-1] != want {
				t.Errorf("re-locked %s, want %d links ending with %s", strings.Join(got, " "), depth, want)
			}
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
