package config

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/testenv"
)

// TestChooseBuilderWithNoCapableInterpreterKeepsPython3AndSaysWhatToInstall
// probes a real venv of /usr/bin/python3 (pip and setuptools, no wheel) as
// the only candidate: init keeps "python3" and the comment names what to
// install, the alternatives and what each candidate lacked.
func TestChooseBuilderWithNoCapableInterpreterKeepsPython3AndSaysWhatToInstall(t *testing.T) {
	testenv.Slow(t, "makes a venv of python3 and probes it")
	dir := filepath.Join(t.TempDir(), "venv")
	if out, err := exec.Command("/usr/bin/python3", "-m", "venv", dir).CombinedOutput(); err != nil {
		t.Skipf("no venv of /usr/bin/python3 here: %v: %s", err, out)
	}
	py := filepath.Join(dir, "bin", "python3")
	if exec.Command(py, "-c", "import wheel").Run() == nil {
		t.Skip("a plain venv has wheel here")
	}
	got := chooseBuilder(context.Background(), []string{py, filepath.Join(dir, "bin", "no-such-python")}, "3.11")
	if got.Python != "python3" {
		t.Errorf("python = %q, want python3", got.Python)
	}
	said := strings.Join(got.Why, " ")
	for _, want := range []string{"No interpreter found here imports setuptools and wheel", "apt-get install python3-setuptools python3-wheel",
		"--builder buildkit", "Tried: " + py + " (Python 3.", ") lacks wheel", "no-such-python"} {
		if !strings.Contains(said, want) {
			t.Errorf("the comment does not say %q: %s", want, said)
		}
	}
}

// TestBuilderCandidatesSkipPathsTOMLWouldMangle puts a python3 under a
// folder whose name holds a newline first on PATH: it is not offered,
// since the chosen path is written into larder.toml.
func TestBuilderCandidatesSkipPathsTOMLWouldMangle(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "a\nb")
	if err := os.MkdirAll(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/usr/bin/python3", filepath.Join(bad, "python3")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bad)
	for _, c := range builderCandidates("3.11") {
		if strings.ContainsAny(c, "\n") {
			t.Errorf("candidate %q holds a newline", c)
		}
	}
}
