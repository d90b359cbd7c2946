package serve

import (
	"archive/zip"
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/larder-build/larder/internal/readlimit"
)

// TestAnArchiveWithTooManyMembersIsRefusedBeforeItsDirectoryIsRead: a
// wheel or zip sdist whose central directory lists more members than a
// wheel may have is refused after a count, not after archive/zip has
// built every member's header in memory (a 100 MiB upload of empty
// members is over a million of them).
func TestAnArchiveWithTooManyMembersIsRefusedBeforeItsDirectoryIsRead(t *testing.T) {
	const members = 4 * readlimit.MaxZipMembers
	for _, name := range []string{"acme_tools-1.0-py3-none-any.whl", "acme-tools-1.0.zip"} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), name)
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			bw := bufio.NewWriter(f)
			zw := zip.NewWriter(bw)
			for i := range members {
				if _, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("m%d", i), Method: zip.Store}); err != nil {
					t.Fatal(err)
				}
			}
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			if err := bw.Flush(); err != nil {
				t.Fatal(err)
			}
			f.Close()
			st, _ := os.Stat(p)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err = inspectArchive(p, name, st.Size()*maxUnpackedFactor)
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d members in %d bytes: %v, %d bytes allocated", members, st.Size(), err, alloc)
			if err == nil {
				t.Fatalf("inspecting %s with %d members: no error", name, members)
			}
			if alloc > 16<<20 {
				t.Errorf("refusing %s (%d bytes, %d members) allocated %d bytes; want it refused before its directory is read", name, st.Size(), members, alloc)
			}
		})
	}
}
