//go:build unix

package testenv

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// PipeAndDevice makes in dir a named pipe called pipe and a link called
// device to /dev/zero, the inputs that must be refused unread (the pipe
// would wait for a writer, the device never ends), and returns their
// paths.
func PipeAndDevice(t testing.TB, dir, pipe, device string) (pipePath, devicePath string) {
	t.Helper()
	pipePath, devicePath = filepath.Join(dir, pipe), filepath.Join(dir, device)
	if err := syscall.Mkfifo(pipePath, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", devicePath); err != nil {
		t.Fatal(err)
	}
	return pipePath, devicePath
}
