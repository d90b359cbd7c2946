package testenv

import (
	"os"
	"os/exec"
	"regexp"
	"testing"
)

// tmpfsSize is a size mount's tmpfs takes.
var tmpfsSize = regexp.MustCompile(`^[0-9]+[kmg]$`)

// Tmpfs mounts a real tmpfs of size (as mount's size option: "1m") on a
// new temporary folder, unmounted when the test ends, and returns the
// folder: a small disk a test can fill. It skips the test when not root
// or when this machine cannot mount one.
func Tmpfs(tb testing.TB, size string) string {
	tb.Helper()
	if !tmpfsSize.MatchString(size) {
		tb.Fatalf("tmpfs size %q: want digits and a unit, e.g. 1m", size)
	}
	if os.Geteuid() != 0 {
		tb.Skip("mounting a small tmpfs needs root")
	}
	disk := tb.TempDir()
	// The folder is named by --target, so that no path can be taken for
	// an option.
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "--source", "tmpfs", "--target", disk).CombinedOutput(); err != nil {
		tb.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	tb.Cleanup(func() { _ = exec.Command("umount", "--", disk).Run() })
	return disk
}
