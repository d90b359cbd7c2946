package resolver

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/edxindex"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/pylock"
	"github.com/larder-build/larder/resolver/target"
)

// BenchmarkLockEdx compares, in one run, a cold lock of the edx workload
// against the fake index with 20 ms added to every request (what PyPI
// costs from a build machine), pip resolving the same roots against the
// same index, a warm re-lock with nothing changed within the pages'
// max-age, and one a day later, when every page has gone stale.
//
//	go test -run '^$' -bench BenchmarkLockEdx -benchtime 1x ./resolver/
func BenchmarkLockEdx(b *testing.B) {
	srv, w := edxBenchServer(b, nil)
	// pip 23's resolver (resolvelib 1.0) gives up on the conflict decoys
	// of the full workload although a solution exists (resolvelib #134),
	// so pip is compared on the workload without them, and larder on
	// both.
	easySrv, easyW := edxBenchServer(b, []edxindex.Reason{edxindex.ReasonRequiresPython, edxindex.ReasonMissingVersion, edxindex.ReasonConstraint})
	targets := []target.Target{mustTarget(b, "linux/amd64:3.11:glibc2.36")}
	warmCache := b.TempDir()

	b.Run("larder-cold", func(b *testing.B) {
		for range b.N {
			srv.Reset()
			edxResolve(b, srv, w, b.TempDir(), targets)
			reportRequests(b, srv)
		}
	})
	b.Run("larder-cold-no-conflict-decoys", func(b *testing.B) {
		for range b.N {
			easySrv.Reset()
			edxResolve(b, easySrv, easyW, b.TempDir(), targets)
			reportRequests(b, easySrv)
		}
	})
	b.Run("pip-dry-run-no-conflict-decoys", func(b *testing.B) {
		srv, w := easySrv, easyW
		if _, err := exec.LookPath("python3"); err != nil {
			b.Skip("python3 is not installed")
		}
		roots, err := w.RootsFile(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		for range b.N {
			srv.Reset()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
			// Debian's python has setuptools for the one sdist; our lock
			// builds its metadata without isolation too.
			got, out, err := pipResolveWith(ctx, "/usr/bin/python3", b.TempDir(), srv.URL(), []string{"--no-build-isolation", "-r", roots})
			cancel()
			if err != nil {
				b.Fatalf("pip: %v\n%s", err, out)
			}
			if len(got) != len(w.Pins) {
				b.Errorf("pip resolved %d packages, want %d", len(got), len(w.Pins))
			}
			reportRequests(b, srv)
		}
	})
	b.Run("larder-warm", func(b *testing.B) {
		edxResolve(b, srv, w, warmCache, targets)
		b.ResetTimer()
		for range b.N {
			srv.Reset()
			edxResolve(b, srv, w, warmCache, targets)
			reportRequests(b, srv)
		}
	})
	// A re-lock the next day: PyPI's pages go stale after 10 minutes, so
	// every page the lock needs is revalidated (a 304 each, nothing
	// changed), and the metadata comes from the cache.
	b.Run("larder-warm-stale", func(b *testing.B) {
		srv.SetCacheControl("")
		defer srv.SetCacheControl(pypiPageCache)
		cache, lockPath := b.TempDir(), filepath.Join(b.TempDir(), "pylock.toml")
		edxLock(b, srv, w, cache, lockPath, targets, 0)
		b.ResetTimer()
		for range b.N {
			srv.Reset()
			edxLock(b, srv, w, cache, lockPath, targets, 0)
			reportRequests(b, srv)
		}
	})
}

// BenchmarkLockEdxParallel sweeps how many requests the index client has
// in flight, for a cold lock of the edx workload and a re-lock a day
// later (every page stale), each against the fake index with 20 ms added
// to every request. Every variant must write the same lock.
//
//	go test -run '^$' -bench BenchmarkLockEdxParallel -benchtime 1x ./resolver/
func BenchmarkLockEdxParallel(b *testing.B) {
	srv, w := edxBenchServer(b, nil)
	srv.SetCacheControl("")
	targets := []target.Target{mustTarget(b, "linux/amd64:3.11:glibc2.36")}
	var want []byte
	sameLock := func(b *testing.B, lockPath string) {
		got, err := os.ReadFile(lockPath)
		if err != nil {
			b.Fatal(err)
		}
		if want == nil {
			want = got
		} else if !bytes.Equal(got, want) {
			b.Fatalf("the lock differs from the first variant's")
		}
	}
	for _, n := range []int{16, 32, 50, 64} {
		b.Run(fmt.Sprintf("cold/parallel=%d", n), func(b *testing.B) {
			for range b.N {
				srv.Reset()
				lockPath := filepath.Join(b.TempDir(), "pylock.toml")
				edxLock(b, srv, w, b.TempDir(), lockPath, targets, n)
				reportRequests(b, srv)
				sameLock(b, lockPath)
			}
		})
		b.Run(fmt.Sprintf("stale/parallel=%d", n), func(b *testing.B) {
			cache, lockPath := b.TempDir(), filepath.Join(b.TempDir(), "pylock.toml")
			edxLock(b, srv, w, cache, lockPath, targets, n)
			b.ResetTimer()
			for range b.N {
				srv.Reset()
				edxLock(b, srv, w, cache, lockPath, targets, n)
				reportRequests(b, srv)
				sameLock(b, lockPath)
			}
		})
	}
}

// pypiPageCache is the Cache-Control PyPI sends with project pages.
const pypiPageCache = "max-age=600, public"

// edxLock locks the edx workload's roots as larder lock does, through
// Lock and the client it makes, with the lock at lockPath (if any) as the
// previous one, and writes the new lock there. A parallel above 0 bounds
// the client's requests in flight; 0 keeps the client's default.
func edxLock(b *testing.B, srv *pypitest.Server, w *edxindex.Workload, cacheDir, lockPath string, targets []target.Target, parallel int) {
	b.Helper()
	roots, err := w.RootsFile(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	req := LockRequest{
		Requirements: []string{roots}, Targets: targets, IndexURLs: []string{srv.URL()}, Python: "/usr/bin/python3",
		Previous: lockPath,
	}
	opts := []Option{WithCacheDir(cacheDir)}
	if parallel > 0 {
		ix, err := req.NewIndex(index.WithCacheDir(cacheDir), index.WithParallel(parallel))
		if err != nil {
			b.Fatal(err)
		}
		opts = append(opts, WithIndex(ix))
	}
	locked, err := Lock(context.Background(), req, opts...)
	if err != nil {
		b.Fatal(err)
	}
	if n := len(locked.Result.Packages); n != len(w.Pins) {
		b.Fatalf("locked %d packages, want %d", n, len(w.Pins))
	}
	if err := pylock.WriteFile(lockPath, locked.Lock); err != nil {
		b.Fatal(err)
	}
}

// edxBenchServer serves the edx workload with PyPI's latency and page
// cache headers, every file built before the clock starts.
func edxBenchServer(b *testing.B, reasons []edxindex.Reason) (*pypitest.Server, *edxindex.Workload) {
	b.Helper()
	idx, w, err := edxindex.Generate(edxindex.Options{Scale: 0.001, Reasons: reasons})
	if err != nil {
		b.Fatal(err)
	}
	srv := pypitest.NewServer(idx)
	b.Cleanup(srv.Close)
	for _, p := range idx.Projects {
		if _, err := srv.Files(p.Name); err != nil {
			b.Fatal(err)
		}
	}
	srv.SetLatency(20 * time.Millisecond)
	srv.SetCacheControl(pypiPageCache)
	return srv, w
}

// reportRequests reports the requests the server answered since its last
// Reset, in all and by kind: project pages, PEP 658 metadata files, and
// distribution files (range reads and downloads).
func reportRequests(b *testing.B, srv *pypitest.Server) {
	b.Helper()
	var pages, meta, files int
	for p, n := range srv.Counts() {
		switch {
		case strings.HasPrefix(p, "/simple/"):
			pages += n
		case strings.HasSuffix(p, ".metadata"):
			meta += n
		default:
			files += n
		}
	}
	b.ReportMetric(float64(srv.TotalRequests()), "requests/op")
	b.ReportMetric(float64(pages), "pages/op")
	b.ReportMetric(float64(meta), "metadata/op")
	b.ReportMetric(float64(files), "files/op")
}
