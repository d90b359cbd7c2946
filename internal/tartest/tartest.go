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
			// Read into a buffer of the member's size: growing one to an
			// 8 MB binary cost the image tests more than their gzip.
			if h.Size > 1<<30 {
				tb.Fatalf("%s in a tar declares %d bytes", h.Name, h.Size)
			}
			b := make([]byte, h.Size)
			_, err = io.ReadFull(tr, b)
			if err != nil {
				tb.Fatalf("reading %s from a tar: %v", h.Name, err)
			}
			if !yield(h, b) {
				return
			}
		}
	}
}
