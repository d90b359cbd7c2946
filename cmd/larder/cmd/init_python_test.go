package cmd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/cmd/larder/config"
)

// venv makes a real virtual environment of /usr/bin/python3 and returns
// its bin folder.
func venv(t *testing.T, args ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "venv")
	out, err := exec.Command("/usr/bin/python3", append(append([]string{"-m", "venv"}, args...), dir)...).CombinedOutput()
	if err != nil {
		t.Skipf("no venv of /usr/bin/python3 here: %v: %s", err, out)
	}
	return filepath.Join(dir, "bin")
}

// TestInitWritesAnInterpreterThatCanBuildSdists runs larder init with
// real interpreters on a PATH the test controls. A venv of /usr/bin/python3
// has pip and setuptools but no wheel; one with the system site-packages
// has both, as /usr/bin/python3 itself does on Debian. init writes the
// first candidate (python3 on PATH, /usr/bin/python3, python3.X for the
// target) that imports setuptools and wheel, as an absolute path, says
// why in a comment, and a python3 that never answers costs one bounded
// probe.
func TestInitWritesAnInterpreterThatCanBuildSdists(t *testing.T) {
	if testing.Short() {
		// config's starter tests cover the choice; this is the real thing.
		t.Skip("makes two venvs and waits out a 5s probe (make test runs it)")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import setuptools, wheel").Run(); err != nil {
		t.Skip("/usr/bin/python3 lacks setuptools or wheel here")
	}
	noWheel := venv(t)
	if err := exec.Command(filepath.Join(noWheel, "python3"), "-c", "import wheel").Run(); err == nil {
		t.Skip("a plain venv has wheel here")
	}
	both := venv(t, "--system-site-packages", "--without-pip")
	hang := t.TempDir()
	writeFiles(t, hang, map[string]string{"python3": "#!/bin/sh\nexec /bin/sleep 60\n"})
	if err := os.Chmod(filepath.Join(hang, "python3"), 0o755); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	tests := []struct {
		name     string
		path     string
		want     string
		wantSaid []string
	}{
		{"python3 on PATH lacks wheel: the system one is taken", noWheel,
			"/usr/bin/python3", []string{"# /usr/bin/python3 is Python 3.", "with setuptools and wheel: it can build sdists.",
				"# Also tried: " + filepath.Join(noWheel, "python3") + " (Python 3.", ") lacks wheel."}},
		{"python3 on PATH can build: it is taken, as the user's own", both,
			filepath.Join(both, "python3"), []string{"is Python 3.", "with setuptools and wheel", "# Also tried: /usr/bin/python3 (Python 3."}},
		{"python3 on PATH never answers: one bounded probe, then the system one", hang,
			"/usr/bin/python3", []string{"# Also tried: probing " + filepath.Join(hang, "python3") + ": no answer within 5s."}},
		{"no python3 on PATH: the system one", empty,
			"/usr/bin/python3", []string{"# /usr/bin/python3 is Python 3."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"requirements.txt": "django\n"})
			t.Setenv("PATH", tt.path)
			start := time.Now()
			code, out, stderr := run(t, dir, "init")
			if took := time.Since(start); took > 15*time.Second {
				t.Errorf("init took %s", took)
			}
			if code != 0 {
				t.Fatalf("init exited %d: %s", code, stderr)
			}
			cfg, err := config.Load(filepath.Join(dir, "larder.toml"), false)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Project.Python != tt.want {
				t.Errorf("[project] python = %q, want %q", cfg.Project.Python, tt.want)
			}
			toml := string(mustRead(t, filepath.Join(dir, "larder.toml")))
			for _, s := range tt.wantSaid {
				if !strings.Contains(toml, s) {
					t.Errorf("larder.toml does not say %q:\n%s", s, toml)
				}
			}
			if !strings.Contains(out, "python "+tt.want+": ") {
				t.Errorf("init does not name the interpreter it chose:\n%s", out)
			}
		})
	}
}
