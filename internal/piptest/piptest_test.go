package piptest

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
)

func TestEnvDropsMachinePipConfigurationAndProxies(t *testing.T) {
	t.Setenv("PIP_FIND_LINKS", "/opt/wheels")
	t.Setenv("HTTPS_PROXY", "http://proxy.example:3128")
	t.Setenv("PYTHONPATH", "/elsewhere")
	env := Env("/tmp/home")
	for _, bad := range []string{"PIP_FIND_LINKS=/opt/wheels", "HTTPS_PROXY=http://proxy.example:3128", "PYTHONPATH=/elsewhere"} {
		if slices.Contains(env, bad) {
			t.Errorf("%s leaks into pip's environment", bad)
		}
	}
	for _, want := range []string{"HOME=/tmp/home", "PIP_CONFIG_FILE=" + os.DevNull, "PIP_NO_CACHE_DIR=1", "NO_PROXY=*"} {
		if !slices.Contains(env, want) {
			t.Errorf("%s is missing", want)
		}
	}
}

// A developer's shell cannot change what the tests' pip does: pip installs
// from the test's index alone and exits 0 whatever PIP_*, PYTHON* and
// VIRTUAL_ENV variables are set, and runs none of the caller's scripts.
func TestPipInstallIgnoresHostileEnvironment(t *testing.T) {
	if testing.Short() {
		t.Skip("runs pip")
	}
	idx := pypitest.Start(t, &pypitest.Index{Projects: []pypitest.Project{{
		Name: "acme-env", Releases: []pypitest.Release{{Version: "1.0", Wheels: []pypitest.Wheel{{Tags: "py3-none-any"}}}},
	}}})
	var decoyHits atomic.Int32
	decoy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		decoyHits.Add(1)
		http.Error(w, "the test's pip must not ask here", http.StatusTeapot)
	}))
	defer decoy.Close()

	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	startup := filepath.Join(dir, "startup.py")
	if err := os.WriteFile(startup, []byte("open("+strconv.Quote(marker)+", 'a').write('x')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	noPython := filepath.Join(dir, "no-python-here")
	if err := os.Mkdir(noPython, 0o755); err != nil {
		t.Fatal(err)
	}
	// Resolved before the hostile variables are set, as the other tests of
	// the run would have resolved it.
	if _, err := Interpreter("python3"); err != nil {
		t.Skipf("python3: %v", err)
	}
	for k, v := range map[string]string{
		"PIP_INDEX_URL":       decoy.URL + "/simple/",
		"PIP_EXTRA_INDEX_URL": decoy.URL + "/extra/",
		"PIP_FIND_LINKS":      decoy.URL + "/links/",
		"PYTHONHOME":          noPython,
		"PYTHONSTARTUP":       startup,
		"PYTHONINSPECT":       "1",
		"VIRTUAL_ENV":         filepath.Join(dir, "venv"),
	} {
		t.Setenv(k, v)
	}
	p := New(t, "python3")
	target := filepath.Join(p.Dir, "target")
	if out, err := p.Install(idx.URL(), target, "acme-env==1.0"); err != nil {
		t.Fatalf("pip install: %v\n%s", err, out)
	}
	if m, _ := filepath.Glob(filepath.Join(target, "acme_env-1.0.dist-info")); len(m) != 1 {
		t.Errorf("acme-env 1.0 is not installed in %s", target)
	}
	if n := decoyHits.Load(); n != 0 {
		t.Errorf("pip asked the index of PIP_INDEX_URL/PIP_EXTRA_INDEX_URL/PIP_FIND_LINKS %d times", n)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the caller's PYTHONSTARTUP script ran")
	}
}
