package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m) }

const helperEnv = "TESTENV_HELPER"

// TestHelperLeavesTemporaryFiles is the child of the tests below: it
// makes what test helpers make (a per-process folder, a test's folder, a
// file), then passes, fails or waits to be interrupted.
func TestHelperLeavesTemporaryFiles(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		return // only TestNothingOutlivesATestRun runs it, as a child
	}
	d, err := os.MkdirTemp("", "larder-index-bin-")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(d, "bin"), []byte("x"), 0o755)
	os.WriteFile(filepath.Join(t.TempDir(), "f"), []byte("x"), 0o644)
	switch mode {
	case "fail":
		t.Fatal("failing on purpose")
	case "wait":
		os.WriteFile(filepath.Join(os.Getenv("TESTENV_READY")), nil, 0o644)
		time.Sleep(30 * time.Second)
	}
}

// TestNothingOutlivesATestRun runs a test process that leaves temporary
// files behind, and checks the temporary folder it was given before and
// after: empty both times, whether the run passed, failed or was
// interrupted.
func TestNothingOutlivesATestRun(t *testing.T) {
	for _, mode := range []string{"pass", "fail", "wait"} {
		t.Run(mode, func(t *testing.T) {
			tmp := t.TempDir()
			ready := filepath.Join(t.TempDir(), "ready")
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperLeavesTemporaryFiles$", "-test.count=1")
			cmd.Env = append(os.Environ(), helperEnv+"="+mode, "TMPDIR="+tmp, "TESTENV_READY="+ready)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if mode == "wait" {
				deadline := time.Now().Add(20 * time.Second)
				for {
					if _, err := os.Stat(ready); err == nil {
						break
					}
					if time.Now().After(deadline) {
						cmd.Process.Kill()
						t.Fatal("the child never got ready")
					}
					time.Sleep(20 * time.Millisecond)
				}
				cmd.Process.Signal(syscall.SIGINT)
			}
			err := cmd.Wait()
			if (mode == "pass") != (err == nil) {
				t.Errorf("child exit: %v", err)
			}
			left, _ := os.ReadDir(tmp)
			if len(left) != 0 {
				t.Errorf("the %s run left %d entries in its temporary folder, e.g. %s", mode, len(left), left[0].Name())
			}
		})
	}
}

// TestSlowSkipsOnlyUnderShort runs a test that calls Slow: it is skipped,
// with the reason, under -short, and runs to its end otherwise.
func TestSlowSkipsOnlyUnderShort(t *testing.T) {
	ran := false
	var skipped bool
	t.Run("slow", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		Slow(t, "runs nothing")
		ran = true
	})
	if ran == testing.Short() || skipped != testing.Short() {
		t.Fatalf("-short=%v: ran %v, skipped %v", testing.Short(), ran, skipped)
	}
}
