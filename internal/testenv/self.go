package testenv

import (
	"encoding/json"
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

// StartHelperProcessWith starts the test binary again as
// StartHelperProcess does, with spec, as JSON, in the environment
// variable env: what its TestHelperProcess is to do
// (HelperProcessSpec reads it).
func StartHelperProcessWith[T any](tb testing.TB, env string, spec T) *exec.Cmd {
	tb.Helper()
	data, err := json.Marshal(spec)
	if err != nil {
		tb.Fatal(err)
	}
	return StartHelperProcess(tb, env+"="+string(data))
}

// HelperProcessSpec is, in a TestHelperProcess, the spec
// StartHelperProcessWith put in env; false when env is unset (the test
// runs as itself, not as a helper).
func HelperProcessSpec[T any](tb testing.TB, env string) (spec T, ok bool) {
	tb.Helper()
	data := os.Getenv(env)
	if data == "" {
		return spec, false
	}
	if err := json.Unmarshal([]byte(data), &spec); err != nil {
		tb.Fatalf("the helper process's spec in %s: %v", env, err)
	}
	return spec, true
}
