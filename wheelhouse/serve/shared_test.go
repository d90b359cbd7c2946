package serve

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/wheelhouse"
)

// dirCache is a shared cache in a folder: the files by sha256, and the
// entries it lists.
type dirCache struct {
	dir     string
	entries []wheelhouse.Entry
}

func (c *dirCache) Files(context.Context) ([]wheelhouse.Entry, error) { return c.entries, nil }

func (c *dirCache) Open(_ context.Context, sum string) (io.ReadCloser, error) {
	return os.Open(filepath.Join(c.dir, sum))
}

func (c *dirCache) put(t *testing.T, f *pypitest.File) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(c.dir, f.SHA256), f.Data, 0o644); err != nil {
		t.Fatal(err)
	}
	c.entries = append(c.entries, wheelhouse.Entry{Filename: f.Filename, Project: f.Project, Version: f.Version, SHA256: f.SHA256, Size: int64(len(f.Data))})
}

// TestAnUploadUnderASharedFilesNameWithOtherBytesIsRefused: a shared
// cache's file is listed as a local one, so an upload of other bytes
// under its name is refused as for a baked one, and the same bytes are
// taken as already there.
func TestAnUploadUnderASharedFilesNameWithOtherBytesIsRefused(t *testing.T) {
	shared := projectWheel(t, "acme-tools", "1.0", 0)
	other := projectWheel(t, "acme-tools", "1.0", 10<<10)
	if other.Filename != shared.Filename || other.SHA256 == shared.SHA256 {
		t.Fatalf("want one name with two contents, got %s %s", shared.Filename, other.Filename)
	}
	c := &dirCache{dir: t.TempDir()}
	c.put(t, shared)
	_, st, base := uploadServer(t, WithCache(c))
	for _, tc := range []struct {
		name string
		f    *pypitest.File
		want int
	}{
		{"other bytes", other, http.StatusConflict},
		{"the same bytes", shared, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, _, err := postUpload(t, base, tc.f, nil, "alice", "pw")
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.want {
				t.Fatalf("upload: %s, want %d", resp.Status, tc.want)
			}
			if _, ok := st.Lookup(tc.f.Filename); ok {
				t.Fatalf("the wheelhouse keeps %s, which the shared cache serves", tc.f.Filename)
			}
		})
	}
}
