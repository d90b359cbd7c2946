package pythonenv_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/piptest"
	"github.com/larder-build/larder/internal/pythonenv"
)

func TestConfiguresNamesPythonPipAndVirtualEnvironmentVariables(t *testing.T) {
	cases := map[string]bool{
		"PYTHONHOME": true, "PYTHONPATH": true, "PYTHONSTARTUP": true, "PYTHONINSPECT": true,
		"PYTHONUSERBASE": true, "PYTHONWARNINGS": true, "_PYTHON_HOST_PLATFORM": true,
		"_PYTHON_SYSCONFIGDATA_NAME": true, "__PYVENV_LAUNCHER__": true,
		"PIP_INDEX_URL": true, "pip_find_links": true, "VIRTUAL_ENV": true, "CONDA_PREFIX": true,
		"HOME": true, "XDG_CONFIG_HOME": true, "XDG_CACHE_HOME": true,
		"PATH": false, "LANG": false, "HTTPS_PROXY": false, "SOURCE_DATE_EPOCH": false, "TMPDIR": false,
		"PYENV_ROOT": false, "MY_PYTHONHOME": false,
	}
	for k, want := range cases {
		if got := pythonenv.Configures(k); got != want {
			t.Errorf("Configures(%q) = %t, want %t", k, got, want)
		}
	}
	for _, k := range []string{"HOME", "PIP_INDEX_URL", "VIRTUAL_ENV", "XDG_CACHE_HOME"} {
		if pythonenv.Interpreters(k) {
			t.Errorf("Interpreters(%q) is true: a pyenv shim would lose what it needs", k)
		}
	}
}

// A real interpreter started with Isolated's environment starts, exits 0,
// reports its own platform and runs nothing of the caller's, whatever the
// caller's shell has set.
func TestIsolatedInterpreterIgnoresHostileVariables(t *testing.T) {
	if testing.Short() {
		t.Skip("runs python3")
	}
	python, err := piptest.Interpreter("python3")
	if err != nil {
		t.Skipf("python3: %v", err)
	}
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	script := "open(" + pyString(marker) + ", 'a').write('x')\n"
	site := filepath.Join(dir, "site")
	if err := os.MkdirAll(site, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{filepath.Join(site, "sitecustomize.py"), filepath.Join(site, "usercustomize.py"), filepath.Join(dir, "startup.py")} {
		if err := os.WriteFile(f, []byte(script), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	emptyHome := filepath.Join(dir, "no-python-here")
	if err := os.Mkdir(emptyHome, 0o755); err != nil {
		t.Fatal(err)
	}
	hostile := map[string]string{
		"PYTHONHOME":            emptyHome, // the interpreter cannot find its library
		"PYTHONPATH":            site,      // sitecustomize runs
		"PYTHONUSERBASE":        site,
		"PYTHONSTARTUP":         filepath.Join(dir, "startup.py"),
		"PYTHONINSPECT":         "1", // every exit becomes 1, after a traceback
		"_PYTHON_HOST_PLATFORM": "win-amd64",
		"VIRTUAL_ENV":           filepath.Join(dir, "venv"),
		"PIP_INDEX_URL":         "http://127.0.0.1:9/simple/",
	}
	for k, v := range hostile {
		t.Setenv(k, v)
	}
	env := pythonenv.Isolated(filepath.Join(dir, "home"), nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-c",
		"import os, sysconfig; print(sysconfig.get_platform()); print(sorted(k for k in os.environ if k in "+pyKeys(hostile)+"))")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3 with the isolated environment: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 || lines[0] == "win-amd64" || lines[1] != "[]" {
		t.Errorf("python3 saw the caller's variables:\n%s", out)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("a startup, sitecustomize or usercustomize script of the caller ran")
	}
	for k, v := range hostile {
		if slices.Contains(env, k+"="+v) {
			t.Errorf("%s=%s is in the environment", k, v)
		}
	}
}

func pyString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}

func pyKeys(m map[string]string) string {
	var b strings.Builder
	b.WriteString("{")
	for k := range m {
		b.WriteString(pyString(k) + ",")
	}
	b.WriteString("}")
	return b.String()
}
