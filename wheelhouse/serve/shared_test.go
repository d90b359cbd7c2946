package serve

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/wheelhouse"
)

// dirCache is a shared cache in a folder: the files by sha256, and the
// entries it lists.
type dirCache struct {
	dir     string
	mu      sync.Mutex
	entries []wheelhouse.Entry
	lists   int // calls of Files
}

func (c *dirCache) Files(context.Context) ([]wheelhouse.Entry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lists++
	return slices.Clone(c.entries), nil
}

func (c *dirCache) listed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lists
}

func (c *dirCache) Open(_ context.Context, sum string) (io.ReadCloser, error) {
	return os.Open(filepath.Join(c.dir, sum))
}

func (c *dirCache) put(t *testing.T, f *pypitest.File) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(c.dir, f.SHA256), f.Data, 0o644); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = append(c.entries, wheelhouse.Entry{Filename: f.Filename, Project: f.Project, Version: f.Version, SHA256: f.SHA256, Size: int64(len(f.Data)), Private: true})
}

// TestAnUploadUnderASharedFilesNameWithOtherBytesIsRefused: a shared
// cache's file is listed as a local one, so an upload of other bytes
// under its name is refused as for a baked one, and the same bytes are
// taken as already there.
func TestAnUploadUnderASharedFilesNameWithOtherBytesIsRefused(t *testing.T) {
	shared := projectWheel(t, "acme-tools", "1.0", 0)
	other := projectWheel(t, "acme-tools", "1.0", 10<<10)
	if other.Filename != shared.Filename || other.SHA256 == shared.SHA256 {
		t.Fatalf("want one name with two contents, got %s %s", shared.Filename, other.Filename)
	}
	c := &dirCache{dir: t.TempDir()}
	c.put(t, shared)
	_, st, base := uploadServer(t, WithCache(c))
	for _, tc := range []struct {
		name string
		f    *pypitest.File
		want int
	}{
		{"other bytes", other, http.StatusConflict},
		{"the same bytes", shared, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, _, err := postUpload(t, base, tc.f, nil, "alice", "pw")
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.want {
				t.Fatalf("upload: %s, want %d", resp.Status, tc.want)
			}
			if _, ok := st.Lookup(tc.f.Filename); ok {
				t.Fatalf("the wheelhouse keeps %s, which the shared cache serves", tc.f.Filename)
			}
		})
	}
}

// TestANameNoListKnowsReadsTheSharedCacheAgainAtMostOnceASecond: a file
// another server put in the shared cache after this one started is served
// (and its project kept private) as soon as its project is asked for, and
// many requests for unknown names at once cost one more list, not one each.
func TestANameNoListKnowsReadsTheSharedCacheAgainAtMostOnceASecond(t *testing.T) {
	c := &dirCache{dir: t.TempDir()}
	c.put(t, projectWheel(t, "acme-tools", "1.0", 0))
	_, _, base := uploadServer(t, WithCache(c))
	if n := c.listed(); n != 1 {
		t.Fatalf("the cache was listed %d times at start, want 1", n)
	}
	time.Sleep(sharedRefreshEvery) // the start's list is a second old
	start := time.Now()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			resp, err := http.Get(base + "/simple/unknown-" + string(rune('a'+i)) + "/")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("unknown-%c: %s, want 404", 'a'+i, resp.Status)
			}
		})
	}
	wg.Wait()
	if n, most := c.listed()-1, int(time.Since(start)/sharedRefreshEvery)+1; n < 1 || n > most {
		t.Fatalf("20 requests for unknown names in %v listed the cache %d more times, want 1 to %d", time.Since(start), n, most)
	}

	late := projectWheel(t, "acme-late", "2.0", 0)
	c.put(t, late)
	time.Sleep(sharedRefreshEvery)
	burst := c.listed()
	resp, err := http.Get(base + "/simple/acme-late/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), late.Filename) {
		t.Fatalf("a file put in the shared cache after start: %s\n%s", resp.Status, body)
	}
	known := c.listed()
	resp, err = http.Get(base + "/simple/acme-late/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// Counted from the lists before, not as a total: the burst above
	// lists once a second, and a loaded machine may stretch it past one.
	if n := c.listed(); n != known || known > burst+1 {
		t.Errorf("a known name listed the cache again: %d lists before it was asked for, %d after the first page, %d after the second", burst, known, n)
	}
}

// hangingKeeper is a shared cache whose question about uploads never
// gets an answer (a registry that accepts connections and hangs); with
// hangLists, its lists after the first hang too.
type hangingKeeper struct {
	dirCache
	asked     atomic.Int32
	hangLists bool
}

func (h *hangingKeeper) Files(ctx context.Context) ([]wheelhouse.Entry, error) {
	if h.hangLists && h.listed() > 0 {
		h.mu.Lock()
		h.lists++
		h.mu.Unlock()
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return h.dirCache.Files(ctx)
}

func (*hangingKeeper) Keep(context.Context, wheelhouse.Entry, string, []byte) error {
	return errors.New("not keeping")
}

func (h *hangingKeeper) Kept(ctx context.Context, _ string) (bool, error) {
	h.asked.Add(1)
	<-ctx.Done()
	return false, ctx.Err()
}

// TestAHangingCacheDelaysOneUnknownNameNotEvery: the question whether a
// shared cache kept an upload of a name is bounded in time, and after it
// fails the cache is not asked again for a while, so a hung registry
// costs one request its delay, not every page of a name it does not know.
func TestAHangingCacheDelaysOneUnknownNameNotEvery(t *testing.T) {
	testenv.Slow(t, "waits out a hung list, about 12 s")
	c := &hangingKeeper{dirCache: dirCache{dir: t.TempDir()}, hangLists: true}
	_, base := startServer(t, nil, WithCache(c), WithOffline(true))
	time.Sleep(sharedRefreshEvery) // the start's list is a second old: the next is due
	for i, name := range []string{"first-unknown", "second-unknown", "third-unknown"} {
		if i > 0 {
			time.Sleep(sharedRefreshEvery + 100*time.Millisecond)
		}
		start := time.Now()
		resp, err := http.Get(base + "/simple/" + name + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		took := time.Since(start)
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("%s: %s, want 404", name, resp.Status)
		}
		// Once the cache failed, a page costs no wait for it: under
		// keptTimeout, the least a question to the hung cache costs (a
		// page takes milliseconds, but a loaded machine may stretch it).
		if took > keptTimeout+sharedRefreshTimeout+5*time.Second || (i > 0 && took >= keptTimeout) {
			t.Fatalf("%s took %v", name, took)
		}
	}
	if n := c.asked.Load(); n != 1 {
		t.Fatalf("the hung cache was asked %d times, want once", n)
	}
	if n := c.listed(); n != 2 {
		t.Fatalf("the hung cache was listed %d times, want twice (at start, then one list that hung)", n)
	}
}

// keptKeeper is a shared cache that says it kept an upload of every
// project but whose lists after the first fail: another server's upload
// that this one cannot list.
type keptKeeper struct{ hangingKeeper }

func (*keptKeeper) Kept(context.Context, string) (bool, error) { return true, nil }

func (k *keptKeeper) Files(ctx context.Context) ([]wheelhouse.Entry, error) {
	if k.listed() > 0 {
		return nil, errors.New("the registry is down")
	}
	return k.dirCache.Files(ctx)
}

// TestANameTheCacheKeptIsPrivateEvenWhenItCannotBeListed: once the shared
// cache says it kept an upload of a project, the upstream is never asked
// about it, though listing the cache fails and the upstream offers it.
func TestANameTheCacheKeptIsPrivateEvenWhenItCannotBeListed(t *testing.T) {
	up := pypitest.Start(t, &pypitest.Index{Projects: []pypitest.Project{{Name: "acme-kept", Releases: []pypitest.Release{release("9.0")}}}})
	c := &keptKeeper{hangingKeeper{dirCache: dirCache{dir: t.TempDir()}}}
	_, base := startServer(t, nil, WithCache(c), WithUpstream(up.URL()), WithCacheDir(t.TempDir()))
	resp, err := http.Get(base + "/simple/acme-kept/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || strings.Contains(string(body), "9.0") {
		t.Fatalf("a project the cache kept, not listable: %s\n%s", resp.Status, body)
	}
	if n := up.TotalRequests(); n != 0 {
		t.Fatalf("the upstream was asked %d times (%v) about a project another server took an upload of", n, up.Counts())
	}
}
