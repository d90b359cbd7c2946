package resolver

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/edxindex"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/resolver/target"
)

// BenchmarkLockEdx compares, in one run, a cold lock of the edx workload
// against the fake index with 20 ms added to every request (what PyPI
// costs from a build machine), pip resolving the same roots against the
// same index, and a warm re-lock with nothing changed.
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
			b.ReportMetric(float64(srv.TotalRequests()), "requests/op")
		}
	})
	b.Run("larder-cold-no-conflict-decoys", func(b *testing.B) {
		for range b.N {
			easySrv.Reset()
			edxResolve(b, easySrv, easyW, b.TempDir(), targets)
			b.ReportMetric(float64(easySrv.TotalRequests()), "requests/op")
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
			b.ReportMetric(float64(srv.TotalRequests()), "requests/op")
		}
	})
	b.Run("larder-warm", func(b *testing.B) {
		edxResolve(b, srv, w, warmCache, targets)
		b.ResetTimer()
		for range b.N {
			srv.Reset()
			edxResolve(b, srv, w, warmCache, targets)
			b.ReportMetric(float64(srv.TotalRequests()), "requests/op")
		}
	})
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
	srv.SetCacheControl("max-age=600, public")
	return srv, w
}
