package index

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/readlimit"
	"github.com/larder-build/larder/resolver/dist"
)

// writeMetadata writes core metadata padded with a long description to
// size bytes.
func writeMetadata(w io.Writer, size int64) error {
	head := "Metadata-Version: 2.1\nName: big\nVersion: 1.0\n\n"
	if _, err := io.WriteString(w, head); err != nil {
		return err
	}
	chunk := strings.Repeat("x", 64<<10)
	for n := size - int64(len(head)); n > 0; n -= int64(len(chunk)) {
		if _, err := io.WriteString(w, chunk[:min(n, int64(len(chunk)))]); err != nil {
			return err
		}
	}
	return nil
}

func TestOversizedMetadataFileIsRefusedAsTooLarge(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int64
	}{
		{"one byte over the metadata limit", dist.MaxMetadataSize + 1},
		// Once cut to its first maxPageSize bytes, which then failed the
		// hash check as if the index had served the wrong file.
		{"one byte over the page limit", maxPageSize + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := sha256.New()
			if err := writeMetadata(h, tc.size); err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/big-1.0-py3-none-any.whl.metadata" {
					http.NotFound(w, r)
					return
				}
				_ = writeMetadata(w, tc.size) // the client hangs up at its limit
			}))
			defer srv.Close()
			c := newClient(t, []string{srv.URL})
			f := File{Filename: "big-1.0-py3-none-any.whl", URL: srv.URL + "/big-1.0-py3-none-any.whl", Size: -1,
				CoreMetadata: true, MetadataHashes: map[string]string{"sha256": hex.EncodeToString(h.Sum(nil))}}
			_, err := c.Metadata(context.Background(), f)
			var tooLarge *readlimit.TooLargeError
			if !errors.As(err, &tooLarge) || tooLarge.Max != dist.MaxMetadataSize || !strings.Contains(err.Error(), f.URL+".metadata") {
				t.Errorf("Metadata of a %d-byte .metadata file: %v; want a TooLargeError of %d naming its URL", tc.size, err, dist.MaxMetadataSize)
			}
		})
	}
}
