package wheelhousetest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/larder-build/larder/internal/edxindex"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/resolver"
	"github.com/larder-build/larder/resolver/pylock"
	"github.com/larder-build/larder/resolver/target"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/build"
	"github.com/larder-build/larder/wheelhouse/fetch"
)

// Edx is the edx-platform workload made real: served by a fake index,
// locked from its top-level requirements under its constraints for the
// targets, and fetched into a wheelhouse (mysqlclient, published as an
// sdist only, built with /usr/bin/python3), as 'larder lock' and
// 'larder fetch' do.
type Edx struct {
	Server *pypitest.Server
	Lock   *pylock.Lock
	Store  *wheelhouse.Store
	// LockFile is the lock written to disk.
	LockFile string
}

// FetchEdx makes the workload at scale (1 is about 300 MB a target) in
// dir.
func FetchEdx(tb testing.TB, dir string, scale float64, targets ...string) *Edx {
	tb.Helper()
	idx, w, err := edxindex.Generate(edxindex.Options{Scale: scale})
	if err != nil {
		tb.Fatal(err)
	}
	srv := pypitest.Start(tb, idx)
	if err := os.MkdirAll(filepath.Join(dir, "requirements"), 0o755); err != nil {
		tb.Fatal(err)
	}
	roots, err := w.RootsFile(filepath.Join(dir, "requirements"))
	if err != nil {
		tb.Fatal(err)
	}
	var ts []target.Target
	for _, s := range targets {
		t, err := target.Parse(s)
		if err != nil {
			tb.Fatal(err)
		}
		ts = append(ts, t)
	}
	// What larder lock does, through the same entry point.
	locked, err := resolver.Lock(context.Background(), resolver.LockRequest{
		Requirements: []string{roots}, Targets: ts, IndexURLs: []string{srv.URL()}, Python: "/usr/bin/python3",
	}, resolver.WithCacheDir(filepath.Join(dir, "cache")))
	if err != nil {
		tb.Fatal(err)
	}
	lock := locked.Lock
	lockFile := filepath.Join(dir, "pylock.toml")
	if err := pylock.WriteFile(lockFile, lock); err != nil {
		tb.Fatal(err)
	}
	store, err := wheelhouse.Create(filepath.Join(dir, "wheelhouse"))
	if err != nil {
		tb.Fatal(err)
	}
	b, err := build.NewHost(build.WithPython("/usr/bin/python3"), build.WithCacheDir(filepath.Join(dir, "builds")),
		build.WithFindLinks(filepath.Join(store.Dir(), wheelhouse.FilesDir)))
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := fetch.Fetch(context.Background(), store, lock, fetch.WithBuilder(b), fetch.WithCacheDir(filepath.Join(dir, "cache"))); err != nil {
		tb.Fatal(err)
	}
	return &Edx{Server: srv, Lock: lock, Store: store, LockFile: lockFile}
}

// Closure is the workload's closure, as bake takes it.
func (e *Edx) Closure(tb testing.TB) []wheelhouse.Entry {
	tb.Helper()
	c, err := fetch.Closure(e.Store, e.Lock)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}
