//go:build unix

package ocilayout

import (
	"errors"
	"os"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/larder-build/larder/internal/testenv"
)

// TestABlobIsPresentOnlyAsARegularFileOfItsSizeNeverThroughALink:
// HasBlob takes a blob for present only when its path holds a regular
// file of its size (any size when the caller does not know it); a link
// (even to the blob's own bytes elsewhere), a named pipe (without
// waiting) or a folder at its path, or a file of another size, is an
// error naming the path and saying to remove it, never "present"; a
// writer may replace all but the folder; nothing there is simply absent.
func TestABlobIsPresentOnlyAsARegularFileOfItsSizeNeverThroughALink(t *testing.T) {
	data := []byte(`{"the":"blob"}`)
	for _, tc := range []struct {
		name        string
		plant       func(t *testing.T, path string) // nil: the blob itself
		size        int64
		want        bool
		wantKind    string // what the error says it is; "" for no error
		replaceable bool
	}{
		{"the blob", nil, int64(len(data)), true, "", false},
		{"the blob, its size unknown", nil, -1, true, "", false},
		{"nothing", func(t *testing.T, p string) { os.Remove(p) }, int64(len(data)), false, "", false},
		{"a link to the blob's own bytes elsewhere", func(t *testing.T, p string) { testenv.PlantHostile(t, p, "a link to its own bytes elsewhere", 0) }, int64(len(data)), false, "a symbolic link", true},
		{"a link, its size unknown", func(t *testing.T, p string) {
			testenv.PlantHostile(t, p, "a link to a device", 0)
		}, -1, false, "a symbolic link", true},
		{"a named pipe", func(t *testing.T, p string) {
			testenv.PlantHostile(t, p, "a named pipe", 0)
		}, int64(len(data)), false, "a named pipe", true},
		{"a folder", func(t *testing.T, p string) {
			testenv.PlantHostile(t, p, "a folder", 0)
		}, int64(len(data)), false, "a folder", false},
		{"a file of another size", func(t *testing.T, p string) {
			testenv.PlantHostile(t, p, "a sparse file", 1<<30)
		}, int64(len(data)), false, "1073741824 bytes", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			d, p := blobOf(t, dir, data, types.OCIConfigJSON)
			if tc.plant != nil {
				tc.plant(t, p)
			}
			testenv.Within(t, bound, func() {
				ok, err := HasBlob(dir, d.Digest, tc.size)
				if ok != tc.want {
					t.Errorf("HasBlob: %t, want %t", ok, tc.want)
				}
				if tc.wantKind == "" {
					if err != nil {
						t.Errorf("HasBlob: %v, want no error", err)
					}
					return
				}
				var nb *NotBlobError
				switch {
				case !errors.As(err, &nb):
					t.Errorf("HasBlob: %v, want a *NotBlobError", err)
				case !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.wantKind) || !strings.Contains(err.Error(), "remove it"):
					t.Errorf("HasBlob: %q, want it to name %s as %s and say to remove it", err, p, tc.wantKind)
				case nb.Replaceable() != tc.replaceable:
					t.Errorf("Replaceable: %t, want %t", nb.Replaceable(), tc.replaceable)
				case !Refused(err):
					t.Errorf("Refused(%v) is false", err)
				}
			})
		})
	}
	if _, err := HasBlob(t.TempDir(), v1.Hash{Algorithm: "sha256", Hex: "../../etc"}, -1); err == nil {
		t.Error("HasBlob made a path of a digest that is no sha256")
	}
}
