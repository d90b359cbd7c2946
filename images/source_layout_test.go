package images

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/readlimit"
	"github.com/larder-build/larder/internal/testenv"
)

func TestALayoutWithALinkOrAPipeAmongItsFilesIsRefusedUnread(t *testing.T) {
	// firstBlob names one blob of the layout.
	firstBlob := func(t *testing.T, dir string) string {
		t.Helper()
		ents, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
		if err != nil || len(ents) == 0 {
			t.Fatalf("no blob in %s: %v", dir, err)
		}
		return filepath.Join(dir, "blobs", "sha256", ents[0].Name())
	}
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string) string // returns the path it changed
		kind   string
	}{
		{"a blob that is a link to a device", func(t *testing.T, dir string) string {
			p := firstBlob(t, dir)
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("/dev/zero", p); err != nil {
				t.Fatal(err)
			}
			return p
		}, "a symbolic link"},
		{"a blob that is a link to its own bytes out of the layout", func(t *testing.T, dir string) string {
			p := firstBlob(t, dir)
			out := filepath.Join(t.TempDir(), "copy")
			if err := os.Rename(p, out); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(out, p); err != nil {
				t.Fatal(err)
			}
			return p
		}, "a symbolic link"},
		{"an index.json that is a named pipe", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "index.json")
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}, "a named pipe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := baseLayout(t)
			if _, err := Open(context.Background(), ref, Remote{}); err != nil {
				t.Fatalf("the undamaged layout: %v", err)
			}
			changed := tt.damage(t, ref.Path)
			start := time.Now()
			_, err := Open(context.Background(), ref, Remote{})
			var nr *readlimit.NotRegularError
			if !errors.As(err, &nr) || readlimit.Kind(nr.Mode) != tt.kind || !strings.Contains(err.Error(), changed) {
				t.Errorf("got %v, want %s named as %s", err, changed, tt.kind)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("refusing it took %v", d)
			}
		})
	}
}

func TestADockerArchiveThatIsAPipeOrADeviceIsRefusedUnread(t *testing.T) {
	fifo, zero := testenv.PipeAndDevice(t, t.TempDir(), "image.tar", "zero.tar")
	for _, tc := range []struct{ path, kind string }{{fifo, "a named pipe"}, {zero, "a device"}} {
		start := time.Now()
		_, err := Open(context.Background(), mustRef(t, "docker-archive:"+tc.path), Remote{})
		var nr *readlimit.NotRegularError
		if !errors.As(err, &nr) || readlimit.Kind(nr.Mode) != tc.kind || !strings.Contains(err.Error(), tc.path) {
			t.Errorf("%s: got %v, want it named as %s", tc.path, err, tc.kind)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: refusing it took %v", tc.path, d)
		}
	}
}
