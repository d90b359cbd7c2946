package cmd

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/larder-build/larder/cmd/larder/config"
	"github.com/larder-build/larder/internal/pypitest"
)

func smallIndex() *pypitest.Index {
	w := []pypitest.Wheel{{Tags: "py3-none-any"}}
	return &pypitest.Index{Projects: []pypitest.Project{
		{Name: "web", Releases: []pypitest.Release{
			{Version: "1.0", Requires: []string{"django<4"}, Wheels: w},
			{Version: "2.0", Requires: []string{"django>=4", `asgiref ; python_version >= "3.8"`}, Wheels: w},
		}},
		{Name: "django", Releases: []pypitest.Release{{Version: "3.2", Wheels: w}, {Version: "4.2", Wheels: w}, {Version: "5.0", Wheels: w}}},
		{Name: "asgiref", Releases: []pypitest.Release{{Version: "3.8.1", Wheels: w}}},
		{Name: "fast", Releases: []pypitest.Release{{Version: "1.0", Wheels: []pypitest.Wheel{
			{Tags: "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"},
			{Tags: "cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64"},
		}}}},
	}}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLockWritesAStableLockAndRelockRevalidatesOnly(t *testing.T) {
	srv := pypitest.Start(t, smallIndex(), pypitest.WithCacheControl("max-age=0"))
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	writeFiles(t, dir, map[string]string{
		"requirements.txt": "web\nfast\n",
		"constraints.txt":  "django<5\n",
		"larder.toml":      larderTOML(srv.URL(), "constraints = [\"constraints.txt\"]\n", twoTargets),
	})
	var sum lockSummary
	runJSON(t, dir, &sum, "lock", "--json")
	if sum.Packages != 4 || len(sum.Targets) != 2 || sum.Targets[0].Files != 4 {
		t.Errorf("summary %+v", sum)
	}
	first, err := os.ReadFile(filepath.Join(dir, "pylock.toml"))
	if err != nil {
		t.Fatal(err)
	}
	lock := string(first)
	for _, want := range []string{`name = "django"`, `version = "4.2"`, `version = "2.0"`, "fast-1.0-cp311-cp311-manylinux_2_17_aarch64", "sha256 = "} {
		if !strings.Contains(lock, want) {
			t.Errorf("lock lacks %q", want)
		}
	}
	metaBefore := 0
	for p, n := range srv.Counts() {
		if strings.HasSuffix(p, ".metadata") {
			metaBefore += n
		}
	}
	code, _, stderr := run(t, dir, "lock")
	if code != 0 {
		t.Fatalf("relock: %s", stderr)
	}
	second, _ := os.ReadFile(filepath.Join(dir, "pylock.toml"))
	if string(first) != string(second) {
		t.Errorf("relock changed the lock:\n%s\n---\n%s", first, second)
	}
	code, out, _ := run(t, dir, "why", "asgiref")
	if code != 0 || !strings.Contains(out, "asgiref 3.8.1") || !strings.Contains(out, "<- web 2.0 (required by the project)") {
		t.Errorf("why asgiref: %d\n%s", code, out)
	}
	code, _, stderr = run(t, dir, "why", "djnago")
	if code != 1 || !strings.Contains(stderr, "did you mean django?") {
		t.Errorf("why djnago: %d %s", code, stderr)
	}
	metaAfter := 0
	for p, n := range srv.Counts() {
		if strings.HasSuffix(p, ".metadata") {
			metaAfter += n
		}
	}
	if metaAfter != metaBefore {
		t.Errorf("relock downloaded metadata again: %d -> %d requests", metaBefore, metaAfter)
	}
}

func TestLockExplainsConflictsAndUnknownProjects(t *testing.T) {
	srv := pypitest.Start(t, smallIndex())
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	writeFiles(t, dir, map[string]string{
		"conflict.txt": "web>=2\ndjango<4\n",
		"unknown.txt":  "djnago\n",
	})
	code, _, stderr := run(t, dir, "lock", "-r", "conflict.txt", "--index-url", srv.URL())
	if code != 1 || !strings.Contains(stderr, "web==2.0 depends on django>=4") {
		t.Errorf("conflict: %d %s", code, stderr)
	}
	code, _, stderr = run(t, dir, "lock", "-r", "unknown.txt", "--index-url", srv.URL())
	if code != 1 || !strings.Contains(stderr, `"djnago"`) || !strings.Contains(stderr, "unknown.txt:1") {
		t.Errorf("unknown: %d %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "pylock.toml")); !os.IsNotExist(err) {
		t.Error("a failed lock left a lock file behind")
	}
}

func TestLockNeverReplacesAnotherToolsLockOrAnInput(t *testing.T) {
	uvLock := "lock-version = \"1.0\"\ncreated-by = \"uv\"\nrequires-python = \">=3.11\"\n\n[[packages]]\nname = \"web\"\nversion = \"2.0\"\nindex = \"https://pypi.org/simple\"\nwheels = [{ url = \"https://example.org/web-2.0-py3-none-any.whl\", hashes = { sha256 = \"" + strings.Repeat("0", 64) + "\" } }]\n"
	srv := pypitest.Start(t, smallIndex())

	dir := newProject(t, srv, "web\n", "[[target]]\nplatform = \"linux/amd64\"\npython = \"3.11\"\n")
	writeFiles(t, dir, map[string]string{"pylock.toml": uvLock})
	code, _, stderr := run(t, dir, "lock")
	if code == 0 || !strings.Contains(stderr, "pylock.toml was written by uv, not larder") || !strings.Contains(stderr, config.OwnLockName) {
		t.Errorf("lock over uv's pylock.toml: exit %d\n%s", code, stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "pylock.toml")); string(b) != uvLock {
		t.Errorf("uv's pylock.toml was changed:\n%s", b)
	}
	mustRun(t, dir, []string{"lock", "--lock", config.OwnLockName}, []string{"lock", "--lock", config.OwnLockName})
	// A lock larder's reader would refuse (a newer lock-version) is
	// still not larder's to replace.
	newer := strings.Replace(uvLock, `lock-version = "1.0"`, `lock-version = "2.0"`, 1)
	writeFiles(t, dir, map[string]string{"pylock.toml": newer})
	if code, _, stderr := run(t, dir, "lock"); code == 0 || !strings.Contains(stderr, "written by uv") {
		t.Errorf("lock over uv's newer pylock.toml: exit %d\n%s", code, stderr)
	}

	// A lock that is also an input is refused before anything is read.
	dir = newProject(t, srv, "web\n", "[[target]]\nplatform = \"linux/amd64\"\npython = \"3.11\"\n")
	if code, _, stderr := run(t, dir, "lock", "--lock", "requirements.txt"); code == 0 || !strings.Contains(stderr, "requirements.txt, is also an input") {
		t.Errorf("lock over its own input: exit %d\n%s", code, stderr)
	}

	// init, finding another tool's pylock.toml, names larder's own lock
	// another file.
	withoutPythonOnPath(t)
	dir = t.TempDir()
	writeFiles(t, dir, map[string]string{"requirements.txt": "web\n", "pylock.toml": uvLock})
	mustRun(t, dir, []string{"init"})
	cfg, err := config.Load(filepath.Join(dir, "larder.toml"), false)
	if err != nil || cfg.Project.Lock != config.OwnLockName {
		t.Errorf("init beside uv's pylock.toml: lock = %q (%v), want %q", cfg.Project.Lock, err, config.OwnLockName)
	}
}

// TestLockRetriesAFailingIndexAsOftenAsAsked: --retries bounds how often
// lock asks an index that answers 503 before it gives up, and a negative
// count is a usage error that asks nothing.
func TestLockRetriesAFailingIndexAsOftenAsAsked(t *testing.T) {
	var asked atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	writeFiles(t, dir, map[string]string{"requirements.txt": "web\n", "larder.toml": larderTOML(srv.URL+"/simple/", "", "")})
	for _, c := range []struct {
		retries   string
		wantCode  int
		wantAsked int64
	}{
		{"0", 1, 1},
		{"2", 1, 3},
		{"-1", 2, 0},
	} {
		asked.Store(0)
		code, out, stderr := run(t, dir, "lock", "--retries", c.retries)
		if code != c.wantCode || asked.Load() != c.wantAsked {
			t.Errorf("lock --retries %s: exit %d after %d requests, want %d after %d\n%s\n%s", c.retries, code, asked.Load(), c.wantCode, c.wantAsked, out, stderr)
		}
	}
}
