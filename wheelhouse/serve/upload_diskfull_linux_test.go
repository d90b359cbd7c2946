package serve

import (
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/wheelhouse"
)

// TestAnUploadThatFillsARealDiskIsTheServersFault uploads 300 kB wheels
// over HTTP into a store on a real 1 MB tmpfs until it is full. Each
// upload before is stored; the one that finds no room is answered 507
// (the server's disk, not the client's file), logged as an error, and
// leaves nothing behind: no temporary file, no entry.
func TestAnUploadThatFillsARealDiskIsTheServersFault(t *testing.T) {
	disk := testenv.Tmpfs(t, "1m")
	dir := filepath.Join(disk, "wh")
	st, err := wheelhouse.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	var log testLog
	_, base := serveUploads(t, st, WithLogger(log.logger()))

	var stored []string
	for i := range 10 {
		w := projectWheel(t, fmt.Sprintf("filler%d", i), "1.0", 300<<10)
		resp, body, err := postUpload(t, base, w, nil, "alice", "pw")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == http.StatusOK {
			stored = append(stored, w.Filename)
			continue
		}
		if resp.StatusCode != http.StatusInsufficientStorage || !strings.Contains(string(body), "disk is full") {
			t.Fatalf("upload %d into a full disk: %d %s, want 507 saying the server's disk is full", i+1, resp.StatusCode, strings.TrimSpace(string(body)))
		}
		break
	}
	if len(stored) == 0 || len(stored) == 10 {
		t.Fatalf("%d uploads stored of 10 of 300 kB into 1 MB; want the disk to fill after the first", len(stored))
	}
	if !strings.Contains(log.String(), "level=ERROR") || !strings.Contains(log.String(), "no space left on device") {
		t.Errorf("the server's log has no error line for the full disk:\n%s", log.String())
	}
	onDisk, listed := storedFiles(t, dir)
	for _, name := range onDisk {
		if strings.HasPrefix(name, ".") {
			t.Errorf("temporary file %s left behind", name)
		}
	}
	slices.Sort(stored)
	slices.Sort(listed)
	if !slices.Equal(listed, stored) {
		t.Errorf("listed %v, want the uploads answered 200: %v", listed, stored)
	}
}
