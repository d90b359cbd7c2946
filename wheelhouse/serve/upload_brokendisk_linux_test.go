package serve

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/larder-build/larder/wheelhouse"
)

// brokenDisk mounts a 4 MB ext2 image (1 kB blocks) at a new folder, runs
// fill to put files on it, then breaks file (a path in the image, over
// 12 kB long), as on a disk gone bad: its indirect block, so that its
// first 12 kB read and the rest fails with EIO while it stats and opens
// as ever; or, with inode, its inode, so that it is listed but even a
// stat fails (EUCLEAN). It returns the folder, mounted again; the test is
// skipped when not root or when a loop mount is not possible here.
func brokenDisk(t *testing.T, fill func(dir string), file string, inode bool) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a disk image needs root")
	}
	for _, tool := range []string{"mkfs.ext2", "debugfs"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s here", tool)
		}
	}
	tmp := t.TempDir()
	img, disk := filepath.Join(tmp, "img"), filepath.Join(tmp, "disk")
	run := func(name string, args ...string) (string, error) {
		out, err := exec.Command(name, args...).CombinedOutput()
		return string(out), err
	}
	if err := os.Mkdir(disk, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := run("truncate", "-s", "4M", "--", img); err != nil {
		t.Fatalf("truncate: %v %s", err, out)
	}
	if out, err := run("mkfs.ext2", "-q", "-F", "-b", "1024", "--", img); err != nil {
		t.Fatalf("mkfs.ext2: %v %s", err, out)
	}
	if out, err := run("mount", "-o", "loop", "--source", img, "--target", disk); err != nil {
		t.Skipf("cannot mount a disk image here: %v %s", err, out)
	}
	mounted := true
	t.Cleanup(func() {
		if mounted {
			_ = exec.Command("umount", "--", disk).Run()
		}
	})
	fill(disk)
	if out, err := run("umount", "--", disk); err != nil {
		t.Fatalf("umount: %v %s", err, out)
	}
	mounted = false
	if inode {
		if out, err := run("debugfs", "-w", "-R", "sif "+file+" block[0] 9999999", "--", img); err != nil {
			t.Fatalf("debugfs: %v %s", err, out)
		}
		if out, err := run("mount", "-o", "loop", "--source", img, "--target", disk); err != nil {
			t.Fatalf("mounting again: %v %s", err, out)
		}
		mounted = true
		return disk
	}
	out, err := run("debugfs", "-R", "stat "+file, "--", img)
	if err != nil {
		t.Fatalf("debugfs: %v %s", err, out)
	}
	_, after, ok := strings.Cut(out, "(IND):")
	end := strings.IndexFunc(after, func(r rune) bool { return r < '0' || r > '9' })
	ind, err := strconv.Atoi(after[:max(end, 0)])
	if !ok || end <= 0 || err != nil {
		t.Fatalf("no indirect block for %s in:\n%s", file, out)
	}
	f, err := os.OpenFile(img, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// A block number past the end of the 4096-block disk.
	if _, err := f.WriteAt([]byte{0x7f, 0x96, 0x98, 0x00}, int64(ind)*1024); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if out, err := run("mount", "-o", "loop", "--source", img, "--target", disk); err != nil {
		t.Fatalf("mounting again: %v %s", err, out)
	}
	mounted = true
	return disk
}

// TestAnEarlierFileTheDiskFailsToReadIsTheServersFault uploads a wheel
// whose name is taken on disk by an unlisted file (a killed server's)
// that the disk fails to read (EIO): whether the two are the same bytes
// cannot be told, and that is the server's fault, a 500 and an error in
// its log, never a 409 telling the client its file differs. Nothing is
// stored, and the earlier file stays. So too when even its stat fails.
func TestAnEarlierFileTheDiskFailsToReadIsTheServersFault(t *testing.T) {
	for _, tt := range []struct {
		name  string
		inode bool
		logs  string
	}{
		{"its content", false, "input/output error"},
		{"its inode", true, "structure needs cleaning"},
	} {
		t.Run(tt.name, func(t *testing.T) { earlierFileUnreadable(t, tt.inode, tt.logs) })
	}
}

func earlierFileUnreadable(t *testing.T, inode bool, logs string) {
	w := projectWheel(t, "demo", "1.0", 64<<10)
	disk := brokenDisk(t, func(disk string) {
		st, err := wheelhouse.Create(filepath.Join(disk, "wh"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(st.Path(w.Filename), w.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}, "wh/files/"+w.Filename, inode)
	dir := filepath.Join(disk, "wh")
	if _, err := os.ReadFile(filepath.Join(dir, "files", w.Filename)); err == nil {
		t.Fatal("the broken file reads whole")
	}
	st, err := wheelhouse.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var log testLog
	_, base := serveUploads(t, st, WithLogger(log.logger()))
	resp, body, err := postUpload(t, base, w, nil, "alice", "pw")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("uploading over an earlier file the disk cannot read: %d %s, want 500", resp.StatusCode, bytes.TrimSpace(body))
	}
	if !strings.Contains(log.String(), "level=ERROR") || !strings.Contains(log.String(), logs) {
		t.Errorf("the server's log has no error line for the failing disk:\n%s", log.String())
	}
	onDisk, listed := storedFiles(t, dir)
	if len(listed) != 0 || len(onDisk) != 1 || onDisk[0] != w.Filename {
		t.Errorf("on disk %v, listed %v; want the earlier file alone, unlisted", onDisk, listed)
	}
}
