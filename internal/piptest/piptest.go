// Package piptest runs the real pip in tests, isolated from the machine:
// no pip configuration (files or PIP_* variables such as a find-links
// folder), no user caches, no proxies, so that pip sees only the index a
// test gives it.
//
// Env starts from internal/pythonenv's Isolated, as wheelhouse/build's
// own pip environment does: which variables configure Python and pip is a
// fact about Python, checked there against a real interpreter, not about
// the code under test. The two add different ends: build keeps proxies
// and pins SOURCE_DATE_EPOCH for reproducible wheels; Env drops proxies
// and caches nothing so that pip sees only a test's index.
package piptest

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/pythonenv"
)

// Env returns the process environment without anything that configures
// Python, pip, a virtual environment or a proxy (pythonenv.Isolated and
// every *_PROXY variable), with HOME and the XDG folders under home and
// pip told to keep quiet and cache nothing.
func Env(home string) []string {
	isProxy := func(k string) bool { return strings.HasSuffix(strings.ToUpper(k), "_PROXY") }
	return append(pythonenv.Isolated(home, isProxy),
		"PIP_NO_CACHE_DIR=1",
		"PIP_ROOT_USER_ACTION=ignore",
		"NO_PROXY=*",
	)
}

// Pip is a pip of one interpreter with an isolated environment and a
// scratch folder.
type Pip struct {
	Python string // the interpreter's path
	Env    []string
	Dir    string // HOME, and a place for the test's files
}

// New returns a Pip for the interpreter, skipping the test under -short or
// when the interpreter is missing.
func New(t testing.TB, python string) *Pip {
	t.Helper()
	if testing.Short() {
		t.Skip("runs pip")
	}
	path, err := Interpreter(python)
	if err != nil {
		t.Skipf("%s not found: %v", python, err)
	}
	dir := t.TempDir()
	return &Pip{Python: path, Env: Env(dir), Dir: dir}
}

// Install runs pip install of reqs into the folder target from the index
// at indexURL alone, for at most three minutes, and returns what pip
// printed. Each value is joined to its option and the requirements come
// after '--', so that none is read as an option.
func (p *Pip) Install(indexURL, target string, reqs ...string) ([]byte, error) {
	if !filepath.IsAbs(p.Python) {
		return nil, fmt.Errorf("pip install: %q is not an absolute path to an interpreter", p.Python)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := append([]string{"-m", "pip", "install", "--index-url=" + indexURL, "--target=" + target, "--"}, reqs...)
	cmd := exec.CommandContext(ctx, p.Python, args...)
	cmd.Env = p.Env
	return cmd.CombinedOutput()
}

var interpreters sync.Map // name -> string path

// Interpreter returns the real executable behind a Python command:
// sys.executable, not a pyenv shim. Shims consult HOME (which tests
// change) and rehash when run concurrently, which fails now and then.
func Interpreter(python string) (string, error) {
	if p, ok := interpreters.Load(python); ok {
		return p.(string), nil
	}
	if strings.HasPrefix(python, "-") {
		return "", fmt.Errorf("%q is not an interpreter", python)
	}
	if _, err := exec.LookPath(python); err != nil {
		return "", err
	}
	// Without the interpreter's own variables (a PYTHONHOME elsewhere, a
	// PYTHONINSPECT that turns every exit into 1) but with HOME, which a
	// pyenv shim needs.
	cmd := exec.Command(python, "-c", "import sys; print(sys.executable)")
	cmd.Env = pythonenv.Without(pythonenv.Interpreters)
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("running %s: %w", python, err)
	}
	path := strings.TrimSpace(string(out))
	if !filepath.IsAbs(path) {
		return "", fmt.Errorf("%s names its executable %q, not an absolute path", python, path)
	}
	interpreters.Store(python, path)
	return path, nil
}

// DebianPipWheel is the pip wheel Debian 12 ships in python3-pip-whl (pip
// 23.0.1, what python3 -m venv installs in a bookworm image), which Python
// runs straight from the wheel as WHEEL/pip. It is "" when the package is
// not installed.
func DebianPipWheel() string {
	m, _ := filepath.Glob("/usr/share/python-wheels/pip-*-py3-none-any.whl")
	if len(m) == 0 {
		return ""
	}
	return m[len(m)-1]
}

// AtLeast reports whether the pip of the interpreter is at least
// major.minor: tests whose reference behaviour changed between pip
// releases (PEP 714's core-metadata in 23.1, --config-settings in
// requirement files in 23.1) expect what that pip does. A fresh Debian 12
// has pip 23.0.1 only; a pyenv Python brings a newer one.
func AtLeast(python string, major, minor int) (bool, error) {
	// The real executable (an absolute path), not a name a shim resolves.
	exe, err := Interpreter(python)
	if err != nil {
		return false, err
	}
	cmd := exec.Command(exe, "-c", "import pip; print(pip.__version__)")
	cmd.Env = pythonenv.Without(pythonenv.Configures)
	out, err := cmd.Output()
	if err != nil {
		return false, fmt.Errorf("reading the pip version of %s: %w", python, err)
	}
	var ma, mi int
	if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "%d.%d", &ma, &mi); err != nil {
		return false, fmt.Errorf("reading the pip version of %s from %q: %w", python, out, err)
	}
	return ma > major || (ma == major && mi >= minor), nil
}
