package registrycache_test

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/larder-build/larder/images/registrycache"
	"github.com/larder-build/larder/internal/dockerregistry"
	"github.com/larder-build/larder/internal/piptest"
	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/internal/wheelhousetest"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/build"
	"github.com/larder-build/larder/wheelhouse/fetch"
)

// BenchmarkFetchEdxFromTheRegistry compares a fresh machine's fetch of
// the edx closure (LARDER_BENCH_SCALE, default 0.1 of 300 MB) from the
// registry cache with the same fetch from an index that takes 20 ms to
// answer, with pip download of the same pinned, hashed closure from that
// index, and with a fetch that must also build the sdists (mysqlclient)
// that the cache's build records save.
//
//	LARDER_BENCH_SCALE=1 go test -run '^$' -bench FetchEdxFromTheRegistry -benchtime 1x ./images/registrycache/
func BenchmarkFetchEdxFromTheRegistry(b *testing.B) {
	scale := testenv.BenchScale(b, 0.1)
	edx := wheelhousetest.FetchEdx(b, b.TempDir(), scale, "linux/amd64:3.11:glibc2.36")
	reg, err := dockerregistry.Start(b.TempDir())
	if err != nil {
		b.Skip(err)
	}
	b.Cleanup(reg.Stop)
	const builder = "bench"
	open := func() *registrycache.Cache {
		c, err := registrycache.Open(context.Background(), "docker://"+reg.Host+"/bench/edx")
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	sum, _, err := wheelhouse.HashFile(edx.LockFile)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := registrycache.PushWheelhouse(context.Background(), open(), edx.Store, sum, registrycache.WithBuildRecords(builder)); err != nil {
		b.Fatal(err)
	}
	var total int64
	for _, e := range edx.Store.Entries() {
		total += e.Size
	}
	b.Logf("scale %g: %d files, %.1f MB", scale, len(edx.Store.Entries()), float64(total)/1e6)
	fresh := func(b *testing.B, opts ...fetch.Option) *fetch.Report {
		b.Helper()
		s, err := wheelhouse.Create(filepath.Join(b.TempDir(), "wh"))
		if err != nil {
			b.Fatal(err)
		}
		rep, err := fetch.Fetch(context.Background(), s, edx.Lock, opts...)
		var nb *fetch.NeedsBuilderError
		if err != nil && !errors.As(err, &nb) {
			b.Fatal(err)
		}
		return rep
	}
	b.Run("registry", func(b *testing.B) {
		b.SetBytes(total)
		for b.Loop() {
			rep := fresh(b, fetch.WithCache(open(), false), fetch.WithBuilderIdentity(builder))
			if rep.Downloaded != 0 || rep.Built != 0 {
				b.Fatalf("%+v, want everything from the registry", rep)
			}
		}
	})
	b.Run("index-20ms", func(b *testing.B) {
		edx.Server.SetLatency(20 * time.Millisecond)
		defer edx.Server.SetLatency(0)
		b.SetBytes(total)
		for b.Loop() {
			fresh(b)
		}
	})
	b.Run("pip-download-index-20ms", func(b *testing.B) {
		python := "/usr/bin/python3"
		if err := exec.Command(python, "-c", "import setuptools, wheel").Run(); err != nil {
			b.Skipf("%s cannot prepare an sdist's metadata offline: %v", python, err)
		}
		home := b.TempDir()
		pinned, err := piptest.PinnedRequirements(edx.Lock, home)
		if err != nil {
			b.Fatal(err)
		}
		edx.Server.SetLatency(20 * time.Millisecond)
		defer edx.Server.SetLatency(0)
		b.SetBytes(total)
		for b.Loop() {
			if out, err := piptest.Download(context.Background(), python, home, edx.Server.URL(), pinned, b.TempDir()); err != nil {
				b.Fatalf("pip download: %v\n%s", err, out)
			}
		}
	})
	b.Run("index-20ms-and-builds", func(b *testing.B) {
		edx.Server.SetLatency(20 * time.Millisecond)
		defer edx.Server.SetLatency(0)
		b.SetBytes(total)
		for b.Loop() {
			dir := b.TempDir()
			s, err := wheelhouse.Create(filepath.Join(dir, "wh"))
			if err != nil {
				b.Fatal(err)
			}
			h, err := build.NewHost(build.WithPython("/usr/bin/python3"), build.WithCacheDir(filepath.Join(dir, "builds")),
				build.WithFindLinks(filepath.Join(dir, "wh", wheelhouse.FilesDir)))
			if err != nil {
				b.Fatal(err)
			}
			rep, err := fetch.Fetch(context.Background(), s, edx.Lock, fetch.WithBuilder(h))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(rep.Built), "builds/op")
		}
	})
}
