package cmd

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/resolver/pylock"
)

// edxLayout copies an edx-platform-shaped project into a new folder:
// pyproject.toml with setuptools dynamic dependencies, uv.lock, and the
// requirements/edx/*.txt they name.
func edxLayout(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join("..", "..", "..", "testdata")
	files := map[string]string{
		filepath.Join("uvlock", "edx-shaped", "uv.lock"):                                "uv.lock",
		filepath.Join("pyproject", "edx-dynamic", "pyproject.toml"):                     "pyproject.toml",
		filepath.Join("pyproject", "edx-dynamic", "requirements", "constraints.txt"):    "requirements/constraints.txt",
		filepath.Join("pyproject", "edx-dynamic", "requirements", "edx", "base.txt"):    "requirements/edx/base.txt",
		filepath.Join("pyproject", "edx-dynamic", "requirements", "edx", "testing.txt"): "requirements/edx/testing.txt",
	}
	for from, to := range files {
		b, err := os.ReadFile(filepath.Join(root, from))
		if err != nil {
			t.Fatal(err)
		}
		writeFiles(t, dir, map[string]string{to: string(b)})
	}
	return dir
}

// TestInitTargetsThePythonTheProjectRequiresAndLockGivesUVsClosure runs
// larder init in an edx-shaped folder (both inputs say
// requires-python >= 3.12), then larder lock with only the index URL
// changed: the target is 3.12, init selects the testing extra (the
// project's test extra) and says so, and the lock holds uv sync's
// closure of the testing extra.
func TestInitTargetsThePythonTheProjectRequiresAndLockGivesUVsClosure(t *testing.T) {
	idx, err := pypitest.Load(filepath.Join("..", "..", "..", "testdata", "uvlock", "edx-shaped", "index.toml"))
	if err != nil {
		t.Fatal(err)
	}
	srv := pypitest.Start(t, idx)
	dir := edxLayout(t)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(t.TempDir(), "cache"))
	withoutPythonOnPath(t)
	code, out, stderr := run(t, dir, "init")
	if code != 0 {
		t.Fatalf("init exited %d: %s", code, stderr)
	}
	if want := `extras testing, groups none: the project's test extra "testing"`; !strings.Contains(out, want) {
		t.Errorf("init does not say which extras it chose and why (want %q):\n%s", want, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "larder.toml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(b)
	if !regexp.MustCompile(`(?m)^python = "3\.12"$`).MatchString(cfg) {
		t.Fatalf("larder.toml does not target Python 3.12:\n%s", cfg)
	}
	cfg = strings.Replace(cfg, `url = "https://pypi.org/simple/"`, `url = "`+srv.URL()+`"`, 1)
	writeFiles(t, dir, map[string]string{"larder.toml": cfg})
	if code, _, stderr := run(t, dir, "lock", "--no-progress"); code != 0 {
		t.Fatalf("lock exited %d: %s", code, stderr)
	}
	l, err := pylock.Load(filepath.Join(dir, "pylock.toml"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range l.Packages {
		got = append(got, p.Name+"=="+p.Version)
	}
	sort.Strings(got)
	want := "asgiref==3.8.1 certifi==2025.4.26 charset-normalizer==3.4.2 ddt==1.7.2 django==5.2.17 execnet==2.1.1 idna==3.10 iniconfig==2.1.0 " +
		"packaging==25.0 pluggy==1.6.0 psutil==7.0.0 pytest-django==4.11.1 pytest-xdist==3.6.1 pytest==8.3.5 requests==2.32.3 sqlparse==0.5.3 " +
		"typing-extensions==4.13.2 urllib3==2.4.0"
	if strings.Join(got, " ") != want {
		t.Errorf("lock:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	if !strings.Contains(string(mustRead(t, filepath.Join(dir, "pylock.toml"))), `requires-python = ">=3.12"`) {
		t.Error("the lock does not record requires-python >=3.12")
	}
	// A target the project forbids is refused, naming both.
	cfg = strings.Replace(cfg, `python = "3.12"`, `python = "3.11"`, 1)
	writeFiles(t, dir, map[string]string{"larder.toml": cfg})
	code, _, stderr = run(t, dir, "lock", "--no-progress")
	if want := `Python 3.11 is outside requires-python ">=3.12" of `; code != 1 || !strings.Contains(stderr, want) {
		t.Errorf("lock for 3.11 exited %d: %s; want 1 and %q", code, stderr, want)
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
