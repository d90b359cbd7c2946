// Package tartest reads tar streams back in tests: the layers larder
// builds (layers, images) and the sdists the fake index makes
// (internal/pypitest).
package tartest

import (
	"archive/tar"
	"io"
	"iter"
	"testing"
)

// Members yields each member of the tar stream r, in order, with its
// content; a stream that cannot be read fails the test.
func Members(tb testing.TB, r io.Reader) iter.Seq2[*tar.Header, []byte] {
	return func(yield func(*tar.Header, []byte) bool) {
		tr := tar.NewReader(r)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				tb.Fatalf("reading a tar: %v", err)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				tb.Fatalf("reading %s from a tar: %v", h.Name, err)
			}
			if !yield(h, b) {
				return
			}
		}
	}
}
