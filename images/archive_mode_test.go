package images

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
)

// TestDockerArchiveFollowsTheUmask writes a docker-archive under two
// umasks: the file gets 0644 under the umask, as any file a program
// writes, not os.CreateTemp's 0600. Another user reads it (setpriv) when
// the umask lets them. The umask is the process's: not parallel.
func TestDockerArchiveFollowsTheUmask(t *testing.T) {
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		umask int
		want  os.FileMode
	}{{0o022, 0o644}, {0o027, 0o640}, {0o077, 0o600}} {
		dir := t.TempDir()
		out := filepath.Join(dir, "app.tar")
		old := syscall.Umask(tt.umask)
		_, err := Write(context.Background(), mustRef(t, "docker-archive:"+out+":app:1"), Artifact{Image: img}, Remote{}, nil)
		syscall.Umask(old)
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(out)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != tt.want {
			t.Errorf("umask %03o: archive mode %v, want %v", tt.umask, st.Mode().Perm(), tt.want)
		}
		if tt.umask == 0o022 && os.Geteuid() == 0 {
			if _, err := exec.LookPath("setpriv"); err == nil {
				if err := os.Chmod(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
					t.Fatal(err)
				}
				cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "head", "-c", "1", out)
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("user 65534 cannot read the archive: %v\n%s", err, b)
				}
			}
		}
	}
}

// TestDockerArchiveIntoAMissingFolderIsAnError: a typo in the output path
// names the folder and creates nothing.
func TestDockerArchiveIntoAMissingFolderIsAnError(t *testing.T) {
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	missing := filepath.Join(dir, "no", "such")
	_, err = Write(context.Background(), mustRef(t, "docker-archive:"+filepath.Join(missing, "app.tar")), Artifact{Image: img}, Remote{}, nil)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("got %v, want an error naming %s", err, missing)
	}
	if _, err := os.Stat(filepath.Join(dir, "no")); !os.IsNotExist(err) {
		t.Errorf("the missing folder was created: %v", err)
	}
}

// TestADockerArchiveTakesANameOfFullLength: an archive named with all 255
// bytes a file name may have is written; its temporary file, which must
// fit beside it, takes a shorter name.
func TestADockerArchiveTakesANameOfFullLength(t *testing.T) {
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, strings.Repeat("a", 255-len(".tar"))+".tar")
	if _, err := Write(context.Background(), mustRef(t, "docker-archive:"+out+":app:1"), Artifact{Image: img}, Remote{}, nil); err != nil {
		t.Fatalf("writing an archive with a 255-byte name: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != filepath.Base(out) {
		t.Errorf("folder holds %v, want only the archive", entries)
	}
}
