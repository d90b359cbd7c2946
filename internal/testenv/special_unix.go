//go:build unix

package testenv

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
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

// Within runs f, and fails the test when it has not returned after d: a
// read that waits on a named pipe, or reads a device that never ends,
// fails the test rather than hanging it. The named pipes given are then
// opened for writing and closed, so that a reader f left waiting on one
// sees its end and f returns; Within waits for it d more at most.
func Within(t testing.TB, d time.Duration, f func(), pipes ...string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
		return
	case <-time.After(d):
	}
	t.Errorf("still running after %v", d)
	deadline := time.After(d)
	for {
		for _, p := range pipes {
			// Without waiting for a reader: none may be left.
			if w, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				w.Close()
			}
		}
		select {
		case <-done:
			return
		case <-deadline:
			t.Fatalf("still running %v after its named pipes were closed", d)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// PlantHostile replaces path with what hostile names, as another member of a
// group may in a folder they share: "a named pipe", "a link to a sparse
// file" (of size bytes), "a link to a device" (/dev/zero), "a folder",
// "a sparse file" (of size bytes: a file that takes no room on disk) or
// "a link to its own bytes elsewhere" (the file at path moved out of the
// folder, a link to it left in its place). It returns the named pipe it
// made, if any, for Within.
func PlantHostile(t testing.TB, path, hostile string, size int64) (pipe string) {
	t.Helper()
	if hostile == "a link to its own bytes elsewhere" {
		out := filepath.Join(t.TempDir(), "elsewhere")
		if err := os.Rename(path, out); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(out, path); err != nil {
			t.Fatal(err)
		}
		return ""
	}
	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
	}
	var err error
	switch hostile {
	case "a named pipe":
		err, pipe = syscall.Mkfifo(path, 0o644), path
	case "a link to a sparse file":
		out := filepath.Join(t.TempDir(), "sparse")
		Sparse(t, out, size)
		err = os.Symlink(out, path)
	case "a link to a device":
		err = os.Symlink("/dev/zero", path)
	case "a folder":
		err = os.Mkdir(path, 0o755)
	case "a sparse file":
		Sparse(t, path, size)
	default:
		t.Fatalf("no such plant %q", hostile)
	}
	if err != nil {
		t.Fatal(err)
	}
	return pipe
}

// Sparse makes a file of size bytes that takes no room on disk.
func Sparse(t testing.TB, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}
