// Package wheelhousetest makes real wheelhouses for tests: a store filled
// with generated distributions, or the edx-platform workload locked and
// fetched from a fake index, exactly as 'larder lock' and 'larder fetch'
// make them.
package wheelhousetest

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/wheelhouse"
)

// Store makes a store in dir holding files, written the way fetch writes
// them: file, sidecar for wheels, entry, manifest and static index.
func Store(tb testing.TB, dir string, files ...*pypitest.File) *wheelhouse.Store {
	tb.Helper()
	s, err := wheelhouse.Create(dir)
	if err != nil {
		tb.Fatal(err)
	}
	Add(tb, s, files...)
	return s
}

// Add puts files into a store, commits it and writes its static index.
func Add(tb testing.TB, s *wheelhouse.Store, files ...*pypitest.File) {
	tb.Helper()
	Put(tb, s, files...)
	if err := wheelhouse.WriteStatic(context.Background(), s); err != nil {
		tb.Fatal(err)
	}
}

// Put puts files into a store and commits it, leaving its static index
// as it was (none, in a new store): for the tests of the static index
// itself, and of a store as fetch leaves it before writing its index.
func Put(tb testing.TB, s *wheelhouse.Store, files ...*pypitest.File) {
	tb.Helper()
	for _, f := range files {
		if err := os.WriteFile(s.Path(f.Filename), f.Data, 0o644); err != nil {
			tb.Fatal(err)
		}
		e := wheelhouse.Entry{Filename: f.Filename, Project: pypitest.Normalize(f.Project), Version: f.Version, SHA256: f.SHA256,
			Size: int64(f.Size), RequiresPython: f.RequiresPython, UploadTime: f.UploadTime, Origin: wheelhouse.Origin{Kind: wheelhouse.OriginIndex}}
		if !f.IsSdist {
			if err := os.WriteFile(s.MetadataPath(f.Filename), f.Metadata, 0o644); err != nil {
				tb.Fatal(err)
			}
			e.MetadataSHA256 = f.MetadataSHA256
		}
		if err := s.Put(e); err != nil {
			tb.Fatal(err)
		}
	}
	if err := s.Commit(); err != nil {
		tb.Fatal(err)
	}
}

// Dist builds the distributions of one release: a wheel for each tag set
// ("py3-none-any", "cp311-cp311-manylinux_2_17_x86_64") of about size
// bytes (0: small), and an sdist when sdist is set.
func Dist(tb testing.TB, project, version string, size int, sdist bool, tags ...string) []*pypitest.File {
	tb.Helper()
	return Release(tb, project, pypitest.Release{Version: version, Sdist: sdist}, size, tags...)
}

// Release builds the distributions of release r of project, as Dist
// does, with r's other fields (Requires-Python, upload time, ...) too.
func Release(tb testing.TB, project string, r pypitest.Release, size int, tags ...string) []*pypitest.File {
	tb.Helper()
	p := &pypitest.Project{Name: project}
	var out []*pypitest.File
	for _, tg := range tags {
		f, err := pypitest.BuildWheel(p, &r, pypitest.Wheel{Tags: tg, Size: size})
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, f)
	}
	if r.Sdist {
		f, err := pypitest.BuildSdist(p, &r)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

// Dir returns a fresh folder for a store under the test's temporary
// folder.
func Dir(tb testing.TB) string {
	return filepath.Join(tb.TempDir(), "wheelhouse")
}

// Serve runs serve (an index server's Serve method) on ln until the test
// ends; then it cancels serve's context, waits for it to return and
// reports its error.
func Serve(tb testing.TB, ln net.Listener, serve func(context.Context, net.Listener) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("serving on %s: %v", ln.Addr(), err)
		}
	})
}

// Buffer collects what a server or a command writes (its log, its
// output) from its own goroutines, safe to read while they write.
type Buffer struct {
	mu sync.Mutex
	b  strings.Builder
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
