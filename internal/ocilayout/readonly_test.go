package ocilayout_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/larder-build/larder/internal/ocilayout"
	"github.com/larder-build/larder/internal/testenv"
)

// holdEnv makes the test binary a larder process that takes a hold on a
// layout as holdSpec says, writes what it got into Ready ("held",
// "none" or the error), and waits to be killed.
const holdEnv = "LARDER_OCILAYOUT_HOLD"

type holdSpec struct {
	Dir   string
	Write bool
	// Tag, for a write, is merged into index.json under the hold.
	Tag   string
	Ready string
}

func holdInHelper(t *testing.T, spec holdSpec) {
	ctx := context.Background()
	u, err := ocilayout.Take(ctx, spec.Dir, spec.Write, nil)
	got := "held"
	switch {
	case err != nil:
		got = err.Error()
	case u == nil:
		got = "none"
	case spec.Tag != "":
		err = u.UpdateIndex(ctx, nil, func(idx *v1.IndexManifest) error {
			idx.Manifests = append(idx.Manifests, tagged(spec.Tag))
			return nil
		})
		if err != nil {
			got = err.Error()
		}
	}
	if err := os.WriteFile(spec.Ready, []byte(got), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Minute) // killed long before
}

// tagged is a descriptor under tag (of a manifest the tests never read).
func tagged(tag string) v1.Descriptor {
	return v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: 2,
		Digest:      v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("0", 64)},
		Annotations: map[string]string{"org.opencontainers.image.ref.name": tag}}
}

// startHolder runs the test binary as user 65534 (setpriv) holding the
// layout as spec says, and returns what it got.
func startHolder(t *testing.T, spec holdSpec) string {
	t.Helper()
	setpriv := testenv.Tool(t, "setpriv")
	// The user runs a copy of the test binary from a folder it may read,
	// with a temporary folder of its own.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	own := t.TempDir()
	tmp := filepath.Join(own, "tmp")
	if err := os.Mkdir(tmp, 0o777); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(own, "ocilayout.test")
	in, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(bin, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{own, tmp} {
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	// The test's own temporary folder, which holds this one and the
	// layouts, is passed through, not listed.
	if err := os.Chmod(filepath.Dir(own), 0o711); err != nil {
		t.Fatal(err)
	}
	spec.Ready = filepath.Join(tmp, "ready")
	data := fmt.Sprintf(`{"Dir":%q,"Write":%t,"Tag":%q,"Ready":%q}`, spec.Dir, spec.Write, spec.Tag, spec.Ready)
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--", bin, "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), holdEnv+"="+data, "TMPDIR="+tmp)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return waitHolder(t, cmd, spec.Ready)
}

// startHolderSelf runs the test binary as this user holding dir to
// read, and returns what it got.
func startHolderSelf(t *testing.T, dir string) string {
	t.Helper()
	spec := holdSpec{Dir: dir, Ready: filepath.Join(t.TempDir(), "ready")}
	return waitHolder(t, testenv.StartHelperProcessWith(t, holdEnv, spec), spec.Ready)
}

// waitHolder waits until the holder cmd says, in the file ready, what it
// holds, and returns that.
func waitHolder(t *testing.T, cmd *exec.Cmd, ready string) string {
	t.Helper()
	exited := make(chan struct{})
	go func() {
		cmd.Process.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile(ready); err == nil && len(b) > 0 {
			return string(b)
		}
		select {
		case <-exited:
			t.Fatal("the holder ended before it said what it holds")
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the holder never said what it holds")
		}
	}
}

// newLayout makes a layout in dir with its lock files, as a bake of this
// (root) user under umask 022 leaves it: the lock files 0644.
func newLayout(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := ocilayout.WriteLayoutFile(dir); err != nil {
		t.Fatal(err)
	}
	u, err := ocilayout.Take(context.Background(), dir, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if err := u.UpdateIndex(context.Background(), nil, func(*v1.IndexManifest) error { return nil }); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{ocilayout.UseLock, ocilayout.IndexLock} {
		if err := os.Chmod(filepath.Join(dir, l), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// cleansUp says whether a writer of dir finishing now would clean it up:
// no other process holds it.
func cleansUp(t *testing.T, dir string) bool {
	t.Helper()
	u, err := ocilayout.Take(context.Background(), dir, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	ran := false
	if err := u.CleanUp(func() error { ran = true; return nil }); err != nil {
		t.Fatal(err)
	}
	return ran
}

// TestALayoutThisUserMayNotWriteIsStillHeld: the lock file of a layout
// on a read-only mount, or another user's, is locked through a read-only
// open, so that a writer's clean-up waits for the reader; and a second
// user writing into a layout the first made (a folder both may write)
// holds it and merges its tag, where opening the first's lock file for
// writing failed with EACCES.
func TestALayoutThisUserMayNotWriteIsStillHeld(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a folder read-only and run as another user")
	}
	t.Run("a read-only mount", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "out")
		newLayout(t, dir)
		ro := t.TempDir()
		if out, err := exec.Command("mount", "-o", "bind", "--source", dir, "--target", ro).CombinedOutput(); err != nil {
			t.Skipf("cannot bind-mount here: %v %s", err, out)
		}
		t.Cleanup(func() { _ = exec.Command("umount", "--", ro).Run() })
		if out, err := exec.Command("mount", "-o", "remount,bind,ro", "--target", ro).CombinedOutput(); err != nil {
			t.Skipf("cannot make a bind mount read-only here: %v %s", err, out)
		}
		if err := os.WriteFile(filepath.Join(ro, "probe"), nil, 0o644); err == nil {
			t.Fatal("the read-only mount takes writes")
		}
		for _, write := range []bool{false, true} {
			u, err := ocilayout.Take(context.Background(), ro, write, nil)
			if err != nil || u == nil {
				t.Fatalf("Take(write %t) of a layout on a read-only mount: %v, %v; want a hold", write, u, err)
			}
			if cleansUp(t, dir) {
				t.Errorf("a writer cleaned up the layout while it was read (write %t) through a read-only mount", write)
			}
			u.Close()
		}
		if !cleansUp(t, dir) {
			t.Error("the last writer out did not clean up")
		}
		// Without a lock file: a read goes unheld, a write says why it
		// cannot make one.
		if err := os.Remove(filepath.Join(dir, ocilayout.UseLock)); err != nil {
			t.Fatal(err)
		}
		if u, err := ocilayout.Take(context.Background(), ro, false, nil); u != nil || err != nil {
			t.Errorf("reading a layout without a lock file on a read-only mount: %v, %v; want no hold", u, err)
		}
		if _, err := ocilayout.Take(context.Background(), ro, true, nil); err == nil || !strings.Contains(err.Error(), "read-only file system") {
			t.Errorf("writing a layout without a lock file on a read-only mount: %v, want EROFS named", err)
		}
	})
	t.Run("another user's layout, read", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "base")
		newLayout(t, dir)
		for _, d := range []string{filepath.Dir(dir), dir} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if got := startHolder(t, holdSpec{Dir: dir}); got != "held" {
			t.Fatalf("user 65534 reading root's layout got %q, want a hold", got)
		}
		if cleansUp(t, dir) {
			t.Error("a writer cleaned up the layout while another user read it")
		}
	})
	t.Run("a layout two users write", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "out")
		newLayout(t, dir)
		for _, d := range []string{filepath.Dir(dir), dir} {
			if err := os.Chmod(d, 0o777); err != nil {
				t.Fatal(err)
			}
		}
		if got := startHolder(t, holdSpec{Dir: dir, Write: true, Tag: "theirs"}); got != "held" {
			t.Fatalf("user 65534 writing a layout root made got %q, want a hold", got)
		}
		idx, err := ocilayout.ReadIndex(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(idx.Manifests) != 1 || idx.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "theirs" {
			t.Errorf("index.json after the other user's tag: %+v", idx.Manifests)
		}
		if cleansUp(t, dir) {
			t.Error("a writer cleaned up the layout while another user wrote it")
		}
	})
}

// TestReadingALayoutMakesNoLockFile: a layout only read is never written
// into, its lock file included; one without a lock file is read without
// a hold.
func TestReadingALayoutMakesNoLockFile(t *testing.T) {
	dir := t.TempDir()
	if err := ocilayout.WriteLayoutFile(dir); err != nil {
		t.Fatal(err)
	}
	u, err := ocilayout.Take(context.Background(), dir, false, nil)
	if err != nil || u != nil {
		t.Fatalf("Take of a layout without a lock file, to read: %v, %v; want no hold", u, err)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != ocilayout.LayoutFile {
		t.Errorf("reading the layout left %v in it", names)
	}
}

// TestALockFileThatIsNotARegularFileIsRefusedNotWaitedOn: a named pipe
// planted as the lock file (by another user, say) would block an open
// for reading forever; it is opened without waiting and refused, naming
// it, for a write and for a read alike.
func TestALockFileThatIsNotARegularFileIsRefusedNotWaitedOn(t *testing.T) {
	for _, write := range []bool{true, false} {
		t.Run(fmt.Sprintf("write %t", write), func(t *testing.T) {
			dir := t.TempDir()
			newLayout(t, dir)
			lock := filepath.Join(dir, ocilayout.UseLock)
			if err := os.Remove(lock); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Mkfifo(lock, 0o644); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			u, err := ocilayout.Take(ctx, dir, write, nil)
			if err == nil {
				u.Close()
				t.Fatal("a named pipe was taken for a lock file")
			}
			if ctx.Err() != nil || !strings.Contains(err.Error(), lock) || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("error %v, want one naming %s as not a regular file, at once", err, lock)
			}
		})
	}
}
