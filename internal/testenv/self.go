package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// StartHelperProcess starts the test binary again, running only its
// TestHelperProcess, with env added to this process's environment: a
// second process for tests of what two processes do at once. Its output
// goes to this test's stderr; it is killed and waited for when the test
// ends.
func StartHelperProcess(tb testing.TB, env ...string) *exec.Cmd {
	tb.Helper()
	self, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}
