package build

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/target"
)

// debianPython has setuptools and wheel installed, so it builds without
// isolation; the python3 on PATH (pyenv) has setuptools but no wheel.
const debianPython = "/usr/bin/python3"

// needPython skips the test unless python exists and has pip, and returns
// its path.
func needPython(t *testing.T, python string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds wheels with a real pip")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the fixtures target linux")
	}
	path, err := exec.LookPath(python)
	if err != nil {
		t.Skipf("%s not found", python)
	}
	if err := exec.Command(path, "-c", "import pip").Run(); err != nil {
		t.Skipf("%s has no pip", python)
	}
	return path
}

// needModules skips the test unless python can import every module.
func needModules(t *testing.T, python string, modules ...string) {
	t.Helper()
	if err := exec.Command(python, "-c", "import "+strings.Join(modules, ", ")).Run(); err != nil {
		t.Skipf("%s cannot import %s", python, strings.Join(modules, ", "))
	}
}

func needGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not found")
	}
}

// hostTarget is a target of this machine's architecture, which accepts
// pure wheels and linux_<machine> ones.
func hostTarget(t *testing.T, python string) target.Target {
	t.Helper()
	tg, err := target.Parse(fmt.Sprintf("linux/%s:%s:glibc2.36", runtime.GOARCH, python))
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func newHost(t *testing.T, opts ...Option) *Host {
	t.Helper()
	dir := t.TempDir()
	opts = append([]Option{WithCacheDir(filepath.Join(dir, "cache")), WithLogDir(filepath.Join(dir, "logs"))}, opts...)
	h, err := NewHost(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// debianHost is a Host with its own cache that builds with Debian's
// python3 and its setuptools and wheel; it skips the test where they are
// missing, and returns the interpreter too.
func debianHost(t *testing.T, opts ...Option) (*Host, string) {
	t.Helper()
	python := needPython(t, debianPython)
	needModules(t, python, "setuptools", "wheel")
	return newHost(t, append([]Option{WithPython(python)}, opts...)...), python
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// generatedSdist writes the pypitest sdist of project at version into a
// temporary folder and returns its path.
func generatedSdist(t *testing.T, project, version string) string {
	t.Helper()
	p := &pypitest.Project{Name: project, Releases: []pypitest.Release{{Version: version, Sdist: true}}}
	f, err := pypitest.BuildSdist(p, &p.Releases[0])
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), f.Filename)
	if err := os.WriteFile(path, f.Data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// treeSdist packs files under the top folder NAME-VERSION into an sdist.
func treeSdist(t *testing.T, name, version string, files map[string]string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+"-"+version+".tar.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	for n, data := range files {
		h := &tar.Header{Name: name + "-" + version + "/" + n, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []interface{ Close() error }{tw, gz, f} {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// pipInstallAndImport installs project from the wheels in dir with the
// real pip and returns what importing module prints as __version__.
func pipInstallAndImport(t *testing.T, python, dir, project, module string) string {
	t.Helper()
	site := t.TempDir()
	home := t.TempDir()
	cmd := exec.Command(python, "-m", "pip", "install", "--no-index", "--find-links", dir, "--target", site, project)
	cmd.Env = pipEnv(home)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pip install %s: %v\n%s", project, err, out)
	}
	cmd = exec.Command(python, "-c", "import sys; sys.path.insert(0, sys.argv[1]); import "+module+" as m; print(m.__version__)", site)
	cmd.Env = pipEnv(home)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("importing %s: %v\n%s", module, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestHostBuildsSdistIntoWheelThatPipInstalls(t *testing.T) {
	t.Parallel()
	h, python := debianHost(t)
	sdist := generatedSdist(t, "Larder-Demo", "1.2.0")
	out := t.TempDir()
	req := Request{Project: "larder-demo", Version: "1.2.0", Sdist: sdist, Target: hostTarget(t, "3.11")}
	wheel, err := h.Build(testContext(t), req, out)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(wheel) != out {
		t.Fatalf("Build returned %s, not a file in %s", wheel, out)
	}
	wantWheel(t, wheel, "larder-demo", "1.2.0", "py3-none-any")
	if got := pipInstallAndImport(t, python, out, "larder-demo", "larder_demo"); got != "1.2.0" {
		t.Errorf("the installed module's __version__ is %q, want 1.2.0", got)
	}
	if n := h.builds.Load(); n != 1 {
		t.Errorf("%d builds, want 1", n)
	}
	log, err := os.ReadFile(filepath.Join(filepath.Dir(wheelCacheEntry(t, h)), "build.log"))
	if err != nil || !strings.Contains(string(log), "without build isolation") {
		t.Errorf("the build log does not say the build was not isolated (%v):\n%s", err, log)
	}
}

// wantWheel checks a built wheel's name, which setuptools spells as the
// project does (older versions) or normalized (newer ones).
func wantWheel(t *testing.T, path, project, version, tagSet string) {
	t.Helper()
	w, err := dist.ParseWheelName(filepath.Base(path))
	if err != nil {
		t.Fatal(err)
	}
	if w.Project() != project || w.Version != version || w.TagSet != tagSet {
		t.Fatalf("built %s, want %s %s %s", filepath.Base(path), project, version, tagSet)
	}
}

// wheelCacheEntry returns the one cached wheel of h.
func wheelCacheEntry(t *testing.T, h *Host) string {
	t.Helper()
	got, _ := filepath.Glob(filepath.Join(h.opts.cacheDir, "wheels", "*", "*", "*.whl"))
	if len(got) != 1 {
		t.Fatalf("%d cached wheels, want 1: %v", len(got), got)
	}
	return got[0]
}

func TestHostReusesCachedWheelAcrossTargetsWhenPure(t *testing.T) {
	t.Parallel()
	h, python := debianHost(t)
	sdist := generatedSdist(t, "cached-demo", "0.1")
	ctx := testContext(t)
	targets := []string{"linux/amd64:3.11:glibc2.36", "linux/arm64:3.12:musl1.2", "linux/amd64:3.11:glibc2.36"}
	for _, ts := range targets {
		tg, err := target.Parse(ts)
		if err != nil {
			t.Fatal(err)
		}
		out := t.TempDir()
		wheel, err := h.Build(ctx, Request{Project: "cached-demo", Version: "0.1", Sdist: sdist, Target: tg}, out)
		if err != nil {
			t.Fatalf("target %s: %v", ts, err)
		}
		if _, err := os.Stat(wheel); err != nil {
			t.Fatalf("target %s: the wheel is not in outDir: %v", ts, err)
		}
	}
	if n := h.builds.Load(); n != 1 {
		t.Errorf("%d builds for %d requests of one pure sdist, want 1", n, len(targets))
	}
	// A new Host on the same cache folder finds the wheel too.
	h2, err := NewHost(WithPython(python), WithCacheDir(h.opts.cacheDir))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h2.Build(ctx, Request{Project: "cached-demo", Version: "0.1", Sdist: sdist, Target: hostTarget(t, "3.11")}, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if n := h2.builds.Load(); n != 0 {
		t.Errorf("a second Host rebuilt a cached wheel (%d builds)", n)
	}
}

func TestHostKeysPlatformWheelsByTarget(t *testing.T) {
	t.Parallel()
	h, _ := debianHost(t)
	machine := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]
	if machine == "" {
		t.Skipf("no fixture for %s", runtime.GOARCH)
	}
	sdist := treeSdist(t, "plat_demo", "1.0", platformProject("plat-demo", "linux_"+machine))
	ctx := testContext(t)
	for i, py := range []string{"3.11", "3.12", "3.11"} {
		req := Request{Project: "plat-demo", Version: "1.0", Sdist: sdist, Target: hostTarget(t, py)}
		wheel, err := h.Build(ctx, req, t.TempDir())
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		wantWheel(t, wheel, "plat-demo", "1.0", "py3-none-linux_"+machine)
	}
	if n := h.builds.Load(); n != 2 {
		t.Errorf("%d builds for a platform wheel asked for two targets (one twice), want 2", n)
	}
}

// platformProject is a setup.py project whose pure-Python wheel is tagged
// for the platform plat anyway.
func platformProject(name, plat string) map[string]string {
	module := strings.ReplaceAll(name, "-", "_")
	return map[string]string{
		"setup.py": fmt.Sprintf("from setuptools import setup\nsetup(name=%q, version='1.0', py_modules=[%q], options={'bdist_wheel': {'plat_name': %q}})\n",
			name, module, plat),
		module + ".py": "__version__ = '1.0'\n",
	}
}

func TestHostRefusesWheelThatDoesNotFitTarget(t *testing.T) {
	t.Parallel()
	h, _ := debianHost(t)
	sdist := treeSdist(t, "alien", "1.0", platformProject("alien", "linux_s390x"))
	out := t.TempDir()
	_, err := h.Build(testContext(t), Request{Project: "alien", Version: "1.0", Sdist: sdist, Target: hostTarget(t, "3.11")}, out)
	if err == nil {
		t.Fatal("a linux_s390x wheel was accepted for a " + runtime.GOARCH + " target")
	}
	for _, want := range []string{"-1.0-py3-none-linux_s390x.whl", "does not fit target linux/" + runtime.GOARCH + ":3.11"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %q: %v", want, err)
		}
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("a refused wheel reached outDir: %v", entries)
	}
	if got, _ := filepath.Glob(filepath.Join(h.opts.cacheDir, "wheels", "*", "*", "*.whl")); len(got) != 0 {
		t.Errorf("a refused wheel was cached: %v", got)
	}
}

func TestHostReportsFailedBuildWithLogTailAndPath(t *testing.T) {
	t.Parallel()
	python := needPython(t, debianPython)
	h := newHost(t, WithPython(python))
	sdist := treeSdist(t, "broken", "2.0", map[string]string{
		"setup.py": "raise RuntimeError('larder-test: this sdist refuses to build')\n",
	})
	_, err := h.Build(testContext(t), Request{Project: "broken", Version: "2.0", Sdist: sdist, Target: hostTarget(t, "3.11")}, t.TempDir())
	var be *Error
	if !errors.As(err, &be) {
		t.Fatalf("got %v, want an *Error", err)
	}
	if be.Project != "broken" || be.Version != "2.0" {
		t.Errorf("Error names %s %s, want broken 2.0", be.Project, be.Version)
	}
	if !strings.Contains(be.Log, "larder-test: this sdist refuses to build") {
		t.Errorf("the log tail does not hold the failure:\n%s", be.Log)
	}
	if n := strings.Count(be.Log, "\n") + 1; n > logTailLines {
		t.Errorf("the log tail has %d lines, want at most %d", n, logTailLines)
	}
	if be.LogPath == "" || !strings.HasPrefix(be.LogPath, h.opts.logDir) {
		t.Fatalf("log path %q is not under the log dir %s", be.LogPath, h.opts.logDir)
	}
	full, rerr := os.ReadFile(be.LogPath)
	if rerr != nil || !strings.Contains(string(full), "pip wheel") || !strings.Contains(string(full), "larder-test: this sdist refuses") {
		t.Errorf("the saved log is incomplete (%v):\n%s", rerr, full)
	}
	msg := err.Error()
	for _, want := range []string{be.LogPath, "larder-test: this sdist refuses to build", "building broken 2.0"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the message lacks %q:\n%s", want, msg)
		}
	}
}

// venvWithoutWheel names, in a case table, a venv of Debian's python:
// pip and setuptools but no wheel, as pyenv's and most non-Debian
// interpreters come.
const venvWithoutWheel = "venv without wheel"

func newVenvWithoutWheel(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "venv")
	if out, err := exec.Command(needPython(t, debianPython), "-m", "venv", dir).CombinedOutput(); err != nil {
		testenv.Need(t, fmt.Errorf("making a venv of %s (apt-get install python3-venv): %v\n%s", debianPython, err, out))
	}
	python := filepath.Join(dir, "bin", "python")
	if exec.Command(python, "-c", "import wheel").Run() == nil {
		t.Fatalf("a fresh venv of %s has wheel", debianPython)
	}
	return python
}

// debianWheels returns /usr/share/python-wheels when it has both setuptools
// and wheel.
func debianWheels(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"setuptools", "wheel"} {
		if got, _ := filepath.Glob("/usr/share/python-wheels/" + p + "-*.whl"); len(got) == 0 {
			t.Skipf("no %s in /usr/share/python-wheels (apt-get install python3-setuptools-whl python3-wheel-whl)", p)
		}
	}
	return "/usr/share/python-wheels"
}

// fileIndex makes a PEP 503 index of the wheels in dir as plain files and
// returns its file:// URL.
func fileIndex(t *testing.T, dir string) string {
	t.Helper()
	root := t.TempDir()
	wheels, _ := filepath.Glob(filepath.Join(dir, "*.whl"))
	for _, w := range wheels {
		name, err := dist.ParseWheelName(filepath.Base(w))
		if err != nil {
			t.Fatal(err)
		}
		page := filepath.Join(root, "simple", name.Project())
		if err := os.MkdirAll(page, 0o755); err != nil {
			t.Fatal(err)
		}
		sum, err := fileSHA256(w)
		if err != nil {
			t.Fatal(err)
		}
		html := fmt.Sprintf("<!DOCTYPE html>\n<html><body><a href=\"file://%s#sha256=%s\">%s</a></body></html>\n", w, sum, filepath.Base(w))
		if err := os.WriteFile(filepath.Join(page, "index.html"), []byte(html), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return "file://" + filepath.Join(root, "simple") + "/"
}

func TestHostBuildsIsolatedWithLocalBuildDependencies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		python string
		opts   func(t *testing.T, python string) []Option
	}{
		{"debian python, find-links /usr/share/python-wheels", debianPython, func(t *testing.T, _ string) []Option {
			return []Option{WithFindLinks(debianWheels(t))}
		}},
		{"debian python, file:// index", debianPython, func(t *testing.T, _ string) []Option {
			return []Option{WithIndex(fileIndex(t, debianWheels(t)))}
		}},
		{"an interpreter without wheel installed", venvWithoutWheel, func(t *testing.T, python string) []Option {
			return []Option{WithFindLinks(debianWheels(t))}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			python := c.python
			if python == venvWithoutWheel {
				python = newVenvWithoutWheel(t)
			}
			python = needPython(t, python)
			h := newHost(t, append(c.opts(t, python), WithPython(python))...)
			sdist := generatedSdist(t, "isolated-demo", "3.0")
			out := t.TempDir()
			wheel, err := h.Build(testContext(t), Request{Project: "isolated-demo", Version: "3.0", Sdist: sdist, Target: hostTarget(t, "3.11")}, out)
			if err != nil {
				t.Fatal(err)
			}
			log, _ := os.ReadFile(filepath.Join(filepath.Dir(wheelCacheEntry(t, h)), "build.log"))
			if strings.Contains(string(log), "--no-build-isolation") || !strings.Contains(string(log), "Installing build dependencies") {
				t.Errorf("the build was not isolated:\n%s", log)
			}
			if got := pipInstallAndImport(t, python, filepath.Dir(wheel), "isolated-demo", "isolated_demo"); got != "3.0" {
				t.Errorf("__version__ %q, want 3.0", got)
			}
		})
	}
}

func TestHostBuildsOneSourceOnceWhenAskedConcurrently(t *testing.T) {
	t.Parallel()
	h, _ := debianHost(t)
	sdist := generatedSdist(t, "busy-demo", "1.0")
	ctx := testContext(t)
	const n = 4
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := h.Build(ctx, Request{Project: "busy-demo", Version: "1.0", Sdist: sdist, Target: hostTarget(t, "3.11")}, t.TempDir())
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := h.builds.Load(); got != 1 {
		t.Errorf("%d builds for %d concurrent requests, want 1", got, n)
	}
}

func TestHostFallsBackToNoIsolationWhenBuildDependenciesAreMissing(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	h, _ := debianHost(t, WithFindLinks(empty))
	sdist := generatedSdist(t, "fallback-demo", "1.0")
	if _, err := h.Build(testContext(t), Request{Project: "fallback-demo", Version: "1.0", Sdist: sdist, Target: hostTarget(t, "3.11")}, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	log, _ := os.ReadFile(filepath.Join(filepath.Dir(wheelCacheEntry(t, h)), "build.log"))
	for _, want := range []string{"--find-links " + empty, "retrying with --no-build-isolation", "Successfully built"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("the build log lacks %q:\n%s", want, log)
		}
	}
}

func TestHostHonoursContextDeadline(t *testing.T) {
	t.Parallel()
	python := needPython(t, debianPython)
	h := newHost(t, WithPython(python))
	sdist := treeSdist(t, "slow", "1.0", map[string]string{"setup.py": "import time\ntime.sleep(60)\n"})
	if _, err := h.interpreter(testContext(t)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := h.Build(ctx, Request{Project: "slow", Version: "1.0", Sdist: sdist, Target: hostTarget(t, "3.11")}, t.TempDir())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Build took %s after its deadline", d)
	}
}

// TestTheProbeSeesTheInterpreterAsPipWill: a stray PYTHONHOME, which
// stops Python from starting, and PYTHONPATH do not reach the probe of
// the interpreter, as they do not reach pip.
func TestTheProbeSeesTheInterpreterAsPipWill(t *testing.T) {
	python := needPython(t, debianPython)
	t.Setenv("PYTHONHOME", "/nonexistent")
	t.Setenv("PYTHONPATH", t.TempDir())
	h := newHost(t, WithPython(python))
	if _, err := h.interpreter(testContext(t)); err != nil {
		t.Fatalf("the probe with PYTHONHOME set: %v", err)
	}
}
