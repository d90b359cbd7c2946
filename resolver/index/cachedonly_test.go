package index

import (
	"context"
	"reflect"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
)

// TestCachedOnlyAnswersStalePagesWithoutARequest: the twin CachedOnly
// returns answers a page the cache has, however stale, without asking the
// index, and refuses one the cache lacks; its client still revalidates.
func TestCachedOnlyAnswersStalePagesWithoutARequest(t *testing.T) {
	srv := pypitest.Start(t, demoIndex()) // no Cache-Control: stale at once
	cache := t.TempDir()
	earlier := newClient(t, []string{srv.URL()}, WithCacheDir(cache))
	if _, err := earlier.Project(context.Background(), "six"); err != nil {
		t.Fatal(err)
	}
	srv.Reset()
	c := newClient(t, []string{srv.URL()}, WithCacheDir(cache))
	cached := c.CachedOnly()
	p, err := cached.Project(context.Background(), "six")
	if err != nil || p.Name == "" || len(p.Files) == 0 {
		t.Fatalf("cached page = %+v, %v", p, err)
	}
	if _, err := cached.Project(context.Background(), "demo-lib"); err == nil {
		t.Error("a page the cache lacks was answered")
	}
	if n := srv.TotalRequests(); n != 0 {
		t.Errorf("%d requests from the cache-only twin, want none", n)
	}
	fresh, err := c.Project(context.Background(), "six")
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.Revalidated != 1 {
		t.Errorf("the client revalidated %d pages after its twin read one, want 1", s.Revalidated)
	}
	// Confirmed unchanged by a 304, the page is not parsed again.
	if !reflect.DeepEqual(p, fresh) || &p.Files[0] != &fresh.Files[0] {
		t.Errorf("the revalidated page was parsed again or differs: %+v, %+v", p, fresh)
	}
}
