package images

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/larder-build/larder/internal/testenv"
)

// smallDisk mounts a tmpfs of size bytes, or skips where mounting is not
// allowed (CI runs as root and requires it).
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		testenv.Need(t, fmt.Errorf("cannot mount a tmpfs here: %w", err))
	}
	t.Cleanup(func() { syscall.Unmount(dir, 0) })
	return dir
}

func TestAFullDiskFailsTheWriteAndLeavesNoOutput(t *testing.T) {
	testenv.Slow(t, "mounts tmpfs disks and fills them")
	s := sample(t)
	disk := smallDisk(t, "256k")
	for _, out := range []string{"oci:" + filepath.Join(disk, "out") + ":dev", "docker-archive:" + filepath.Join(disk, "out.tar")} {
		t.Run(out, func(t *testing.T) {
			_, err := Bake(context.Background(), request(t, s, baseLayout(t), mustRef(t, out), "linux/amd64"))
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("got %v, want ENOSPC", err)
			}
			if ents, _ := os.ReadDir(disk); len(ents) != 0 {
				var names []string
				for _, e := range ents {
					names = append(names, e.Name())
				}
				t.Errorf("the full disk holds %v after the failure", names)
			}
		})
	}
	// An existing layout keeps its index: the tags it had still resolve.
	big := smallDisk(t, "24m")
	out := mustRef(t, "oci:"+filepath.Join(big, "out")+":v1")
	req := request(t, s, baseLayout(t), out, "linux/amd64")
	first := bake(t, req)
	filler, _ := os.Create(filepath.Join(big, "filler"))
	buf := make([]byte, 64<<10)
	for {
		if _, err := filler.Write(buf); err != nil {
			break
		}
	}
	filler.Close()
	req.NoFrom = true
	req.Output = mustRef(t, "oci:"+filepath.Join(big, "out")+":v2")
	req.Entries = bump(t, s)
	req.Compact = true
	if _, err := Bake(context.Background(), req); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("got %v, want ENOSPC", err)
	}
	src := openOutput(t, mustRef(t, "oci:"+filepath.Join(big, "out")+":v1"))
	if src.Digest.String() != first.Digest {
		t.Errorf("after a failed write the layout's v1 is %s, was %s", src.Digest, first.Digest)
	}
}
