// Package testenv decides what a test does when a real component it needs
// (a tool, root, a cached image) is missing: it skips on a developer's
// machine, and fails in CI, where LARDER_REQUIRE_TOOLS=1 says everything
// was installed.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// Required reports whether missing components fail tests (CI).
func Required() bool { return os.Getenv("LARDER_REQUIRE_TOOLS") == "1" }

// Need skips (or, when Required, fails) the test when err is not nil.
func Need(tb testing.TB, err error) {
	tb.Helper()
	if err == nil {
		return
	}
	if Required() {
		tb.Fatalf("%v (LARDER_REQUIRE_TOOLS=1)", err)
	}
	tb.Skip(err)
}

// Tool returns the path of a program on PATH, or skips (fails in CI).
func Tool(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Need(tb, fmt.Errorf("%s is not installed", name))
	}
	return p
}

// Slow skips the test under -short, saying why it is slow: it runs a real
// external program (python3 or pip, chromium, docker-registry, skopeo,
// umoci, runc, twine, a git or sdist build) or does heavy I/O. 'make
// test-short' then keeps each package's pure-logic tests and stays fast;
// 'make test' runs everything.
func Slow(tb testing.TB, why string) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("slow under -short: " + why)
	}
}

// CacheDir is where 'make prepare' keeps a component: the Debian base
// image ("e2e") and buildkitd ("buildkit").
func CacheDir(name string) string {
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "larder", name)
}

// BenchScale is the workload size a benchmark runs at: LARDER_BENCH_SCALE
// when set (1 is the full edx-platform closure, about 300 MB), else def. A
// value that is not a positive number fails the benchmark.
func BenchScale(tb testing.TB, def float64) float64 {
	tb.Helper()
	s := os.Getenv("LARDER_BENCH_SCALE")
	if s == "" {
		return def
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 {
		tb.Fatalf("LARDER_BENCH_SCALE=%q: want a positive number", s)
	}
	return v
}

// Main runs a package's tests with TMPDIR set to a folder of their own,
// and removes that folder when they end: passed, failed or interrupted
// (SIGINT, SIGTERM). Everything the tests and their subprocesses make
// under the temporary folder, including what outlives a single test (a
// binary built once per process), goes with it. atExit (stopping a shared
// daemon) runs first, on every path. Use it from TestMain:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
func Main(m *testing.M, atExit ...func()) {
	root, err := os.MkdirTemp("", "larder-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		os.Exit(1)
	}
	// Others may pass through (not list): tests run binaries as a non-root
	// user from folders under it.
	if err := os.Chmod(root, 0o711); err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		os.Exit(1)
	}
	os.Setenv("TMPDIR", root)
	os.Setenv(mainEnv, root)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		for _, f := range atExit {
			f()
		}
		os.RemoveAll(root)
		fmt.Fprintf(os.Stderr, "testenv: %v: removed %s\n", s, root)
		os.Exit(130)
	}()
	code := m.Run()
	signal.Stop(sig)
	for _, f := range atExit {
		f()
	}
	os.RemoveAll(root)
	os.Exit(code)
}

// mainEnv names the folder Main made, for the helpers that need it.
const mainEnv = "LARDER_TESTENV_TMP"

// NeedMain fails the test unless its package runs through Main: a helper
// that leaves files for the whole process (a binary built once) calls it
// so that they go with the run.
func NeedMain(tb testing.TB) {
	tb.Helper()
	if d := os.Getenv(mainEnv); d == "" || d != os.Getenv("TMPDIR") {
		tb.Fatal("this helper keeps files for the whole test process: call testenv.Main from the package's TestMain")
	}
}
