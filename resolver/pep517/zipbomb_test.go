package pep517

import (
	"archive/zip"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/larder-build/larder/internal/readlimit"
)

// TestAZipSdistListingTooManyMembersIsRefusedUnread: a zip sdist whose
// directory lists more members than any real one is refused, by the
// metadata reader and by Unpack, before archive/zip builds a header for
// each of them in memory.
func TestAZipSdistListingTooManyMembersIsRefusedUnread(t *testing.T) {
	sdist := filepath.Join(t.TempDir(), "pkg-1.0.zip")
	f, err := os.Create(sdist)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for i := range readlimit.MaxZipMembers + 1 {
		if _, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("pkg-1.0/%d", i), Method: zip.Store}); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSdistMetadata(sdist); !errors.As(err, new(*readlimit.TooManyMembersError)) {
		t.Errorf("reading its metadata: %v, want too many members", err)
	}
	out := filepath.Join(t.TempDir(), "out")
	if _, err := Unpack(sdist, out); !errors.As(err, new(*readlimit.TooManyMembersError)) {
		t.Errorf("unpacking it: %v, want too many members", err)
	}
	if entries, _ := os.ReadDir(out); len(entries) > 0 {
		t.Errorf("unpacking it wrote %d entries", len(entries))
	}
}
