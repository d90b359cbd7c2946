package layers

import (
	"archive/tar"
	"bytes"
	"errors"
	"runtime"
	"testing"

	"github.com/klauspost/pgzip"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/tartest"
	"github.com/larder-build/larder/internal/wheelhousetest"
	"github.com/larder-build/larder/wheelhouse"
)

// sampleFiles are a small real closure for two platforms: pure wheels, an
// sdist, and platform wheels for amd64 and arm64.
func sampleFiles(tb testing.TB) []*pypitest.File {
	tb.Helper()
	var files []*pypitest.File
	for _, d := range []struct {
		name, version string
		sdist         bool
		tags          []string
	}{
		{"Django", "4.2.16", false, []string{"py3-none-any"}},
		{"six", "1.17.0", false, []string{"py2.py3-none-any"}},
		{"requests", "2.32.3", false, []string{"py3-none-any"}},
		{"edx-opaque-keys", "2.11.0", false, []string{"py3-none-any"}},
		{"mysqlclient", "2.2.4", true, nil},
		{"lxml", "5.3.0", false, []string{"cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64", "cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64"}},
		{"numpy", "1.26.4", false, []string{"cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64", "cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64"}},
		{"psutil", "6.1.0", false, []string{"cp36-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64", "cp36-abi3-manylinux_2_17_aarch64.manylinux2014_aarch64"}},
	} {
		files = append(files, wheelhousetest.Dist(tb, d.name, d.version, 20000, d.sdist, d.tags...)...)
	}
	return files
}

// closure is every entry of a store with no targets (every platform).
func closure(s *wheelhouse.Store) []wheelhouse.Entry { return s.Entries() }

// entry is one member of a layer's tar.
type entry struct {
	hdr  *tar.Header
	data []byte
}

// readLayer reads a built layer back through its Uncompressed tar.
func readLayer(tb testing.TB, l *Layer) []entry {
	tb.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		tb.Fatal(err)
	}
	defer rc.Close()
	var out []entry
	for h, b := range tartest.Members(tb, rc) {
		out = append(out, entry{h, b})
	}
	return out
}

// failingWriter takes ok bytes, then fails every write, as a full disk
// does.
type failingWriter struct{ ok int }

var errFull = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.ok {
		return 0, errFull
	}
	w.ok -= len(p)
	return len(p), nil
}

// freshGzip compresses data with a new pgzip writer set up as the pool's
// are: what a writer taken from the pool must write.
func freshGzip(tb testing.TB, data []byte) []byte {
	tb.Helper()
	var out bytes.Buffer
	z, err := pgzip.NewWriterLevel(&out, gzipLevel)
	if err != nil {
		tb.Fatal(err)
	}
	if err := z.SetConcurrency(gzipBlock, max(2, runtime.GOMAXPROCS(0))); err != nil {
		tb.Fatal(err)
	}
	z.Write(data)
	if err := z.Close(); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}
