package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Tmpfs mounts a real tmpfs of size (as mount's size option: "1m") on a
// new temporary folder, unmounted when the test ends, and returns the
// folder: a small disk a test can fill. It skips the test when not root
// or when this machine cannot mount one.
func Tmpfs(tb testing.TB, size string) string {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("mounting a small tmpfs needs root")
	}
	disk := tb.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", disk).CombinedOutput(); err != nil {
		tb.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	tb.Cleanup(func() { _ = exec.Command("umount", disk).Run() })
	return disk
}
