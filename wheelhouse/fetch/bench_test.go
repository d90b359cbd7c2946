package fetch

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"sync"
	"testing"

	"github.com/larder-build/larder/internal/piptest"
	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/resolver/pylock"
)

// lockURLs lists every file URL of a lock with its size.
func lockURLs(l *pylock.Lock) (urls []string, total int64) {
	for _, p := range l.Packages {
		files := append([]pylock.File{}, p.Wheels...)
		if p.Sdist != nil {
			files = append(files, *p.Sdist)
		}
		for _, f := range files {
			urls = append(urls, f.URL)
			total += f.Size
		}
	}
	return urls, total
}

// floorFetch is the least any client can do: the same files, 8 at once,
// over keep-alive connections, into io.Discard.
func floorFetch(b *testing.B, urls []string) {
	tr := newTransport(8)
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	work := make(chan string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range work {
				resp, err := c.Get(u)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			}
		}()
	}
	for _, u := range urls {
		work <- u
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
}

// BenchmarkFetchEdx fetches the edx workload's linux/amd64 CPython 3.11
// closure (scale LARDER_BENCH_SCALE, default 0.1: about 30 MB; 1 is the
// real ~300 MB) from a local fake PyPI: larder into an empty store, larder
// again with everything present, larder into a second store sharing the
// user cache, pip download of the same pins, and a bare Go client floor.
// Builds are left out: every variant moves the same bytes.
func BenchmarkFetchEdx(b *testing.B) {
	scale := testenv.BenchScale(b, 0.1)
	srv, _, lock := edxLock(b, scale, "linux/amd64:3.11:glibc2.36")
	urls, total := lockURLs(lock)
	floorFetch(b, urls) // warm the server's generated files
	b.Logf("scale %g: %d files, %.1f MB", scale, len(urls), float64(total)/1e6)

	fetchInto := func(b *testing.B, opts ...Option) *Report {
		b.Helper()
		rep, err := Fetch(context.Background(), newStore(b), lock, opts...)
		var nb *NeedsBuilderError
		if err != nil && !errors.As(err, &nb) {
			b.Fatal(err)
		}
		return rep
	}

	b.Run("floor-go-8", func(b *testing.B) {
		b.SetBytes(total)
		for b.Loop() {
			floorFetch(b, urls)
		}
	})
	b.Run("larder", func(b *testing.B) {
		b.SetBytes(total)
		for b.Loop() {
			fetchInto(b)
		}
	})
	b.Run("larder-all-present", func(b *testing.B) {
		s := newStore(b)
		if _, err := Fetch(context.Background(), s, lock); err != nil && !errors.As(err, new(*NeedsBuilderError)) {
			b.Fatal(err)
		}
		srv.Reset()
		b.SetBytes(total)
		for b.Loop() {
			if _, err := Fetch(context.Background(), s, lock); err != nil && !errors.As(err, new(*NeedsBuilderError)) {
				b.Fatal(err)
			}
		}
		if n := srv.TotalRequests(); n != 0 {
			b.Errorf("a fetch with everything present made %d requests", n)
		}
	})
	b.Run("larder-from-cache", func(b *testing.B) {
		cache := b.TempDir()
		fetchInto(b, WithCacheDir(cache))
		b.SetBytes(total)
		for b.Loop() {
			fetchInto(b, WithCacheDir(cache))
		}
	})
	b.Run("pip-download", func(b *testing.B) {
		// pip needs setuptools and wheel to read the sdist's metadata
		// without build isolation (which would need build deps from the
		// index); Debian's Python has both.
		python := "/usr/bin/python3"
		if err := exec.Command(python, "-c", "import setuptools, wheel").Run(); err != nil {
			b.Skipf("%s cannot prepare an sdist's metadata offline: %v", python, err)
		}
		home := b.TempDir()
		pinned, err := piptest.PinnedRequirements(lock, home)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(total)
		for b.Loop() {
			out, err := piptest.Download(context.Background(), python, home, srv.URL(), pinned, b.TempDir())
			if err != nil {
				b.Fatalf("pip download: %v\n%s", err, tail(out, 20))
			}
		}
	})
}
