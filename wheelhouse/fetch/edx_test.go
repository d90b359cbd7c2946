package fetch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/piptest"

	"github.com/larder-build/larder/internal/edxindex"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/resolver"
	"github.com/larder-build/larder/resolver/pylock"
	"github.com/larder-build/larder/resolver/target"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/build"
)

// edxLock serves the edx workload at scale and locks its roots under its
// constraints for one target, as 'larder lock' does.
func edxLock(tb testing.TB, scale float64, tgt string) (*pypitest.Server, *edxindex.Workload, *pylock.Lock) {
	tb.Helper()
	idx, w, err := edxindex.Generate(edxindex.Options{Scale: scale})
	if err != nil {
		tb.Fatal(err)
	}
	srv := pypitest.Start(tb, idx)
	roots, err := w.RootsFile(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	t, err := target.Parse(tgt)
	if err != nil {
		tb.Fatal(err)
	}
	// What larder lock does, through the same entry point.
	locked, err := resolver.Lock(context.Background(), resolver.LockRequest{
		Requirements: []string{roots}, Targets: []target.Target{t}, IndexURLs: []string{srv.URL()}, Python: "/usr/bin/python3",
	}, resolver.WithCacheDir(tb.TempDir()))
	if err != nil {
		tb.Fatal(err)
	}
	srv.Reset()
	return srv, w, locked.Lock
}

// hostBuilder is the real builder when this machine can build the
// workload's sdist (pip and setuptools under /usr/bin/python3), else nil.
func hostBuilder(tb testing.TB, findLinks string) build.Builder {
	tb.Helper()
	if _, err := exec.LookPath("/usr/bin/python3"); err != nil {
		return nil
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import setuptools, wheel").Run(); err != nil {
		return nil
	}
	h, err := build.NewHost(build.WithPython("/usr/bin/python3"), build.WithCacheDir(tb.TempDir()), build.WithFindLinks(findLinks))
	if err != nil {
		return nil
	}
	return h
}

// pinnedWithHashes writes a pip requirements file that pins every
// package of the lock with the hash of every file the store has for it
// (the lock's files and the wheels built from them), for --require-hashes.
func pinnedWithHashes(tb testing.TB, s *wheelhouse.Store, l *pylock.Lock) string {
	tb.Helper()
	byProject := s.Projects()
	var b strings.Builder
	for _, p := range l.Packages {
		fmt.Fprintf(&b, "%s==%s", p.Name, p.Version)
		for _, e := range byProject[p.Name] {
			fmt.Fprintf(&b, " \\\n    --hash=sha256:%s", e.SHA256)
		}
		b.WriteString("\n")
	}
	path := filepath.Join(tb.TempDir(), "pinned.txt")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

func runPip(ctx context.Context, python, home string, args ...string) (string, error) {
	python, err := piptest.Interpreter(python)
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, python, append([]string{"-m", "pip"}, args...)...)
	cmd.Env = piptest.Env(home)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestPipInstallsTheFetchedEdxClosureOffline is the headline: the edx
// workload, locked and fetched, installs whole with the real pip and
// --require-hashes, from the files folder (--no-index --find-links) and
// from the static index (--index-url file://), with no server at all.
func TestPipInstallsTheFetchedEdxClosureOffline(t *testing.T) {
	if testing.Short() {
		t.Skip("locks, fetches and pip-installs 302 packages")
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not found")
	}
	srv, w, lock := edxLock(t, 0.01, "linux/amd64:3.11:glibc2.36")
	s := newStore(t)
	builder := hostBuilder(t, filepath.Join(s.Dir(), wheelhouse.FilesDir))
	opts := []Option{WithCacheDir(t.TempDir())}
	if builder != nil {
		opts = append(opts, WithBuilder(builder))
	}
	rep, err := Fetch(context.Background(), s, lock, opts...)
	var nb *NeedsBuilderError
	switch {
	case builder == nil && errors.As(err, &nb):
		if len(nb.Packages) != 1 || !strings.HasPrefix(nb.Packages[0], "mysqlclient==") {
			t.Fatalf("without a builder: %v, want mysqlclient alone reported", err)
		}
		t.Logf("no builder on this machine: %v", err)
	case err != nil:
		t.Fatal(err)
	case rep.Built != 1:
		t.Errorf("built %d wheels, want mysqlclient's", rep.Built)
	}
	t.Logf("fetched %d files (%d downloaded, %d built), %d bytes in %s; %d file requests",
		rep.Files, rep.Downloaded, rep.Built, rep.Bytes, rep.Duration.Round(time.Millisecond), fileRequests(srv))
	if len(lock.Packages) != len(w.Pins) {
		t.Fatalf("the lock has %d packages, want %d", len(lock.Packages), len(w.Pins))
	}
	if builder == nil {
		return // pip would have to build mysqlclient itself
	}
	mustVerifyClean(t, s, lock)
	reqs := pinnedWithHashes(t, s, lock)
	files := filepath.Join(s.Dir(), wheelhouse.FilesDir)
	simple := "file://" + filepath.Join(s.Dir(), wheelhouse.SimpleDir) + "/"
	srv.Close() // offline from here on
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	runs := map[string][]string{
		"find-links": {"--no-index", "--find-links", files},
		"index-url":  {"--index-url", simple},
	}
	var wg sync.WaitGroup
	for name, args := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dir := t.TempDir()
			target := filepath.Join(dir, "site")
			out, err := runPip(ctx, "python3", dir, append(append([]string{"install", "--no-compile", "--require-hashes", "--only-binary", ":all:", "--target", target}, args...), "-r", reqs)...)
			if err != nil {
				t.Errorf("pip install (%s): %v\n%s", name, err, tail(out, 30))
				return
			}
			infos, _ := filepath.Glob(filepath.Join(target, "*.dist-info"))
			if len(infos) != len(w.Pins) {
				t.Errorf("pip install (%s) installed %d distributions, want %d", name, len(infos), len(w.Pins))
			}
		}()
	}
	wg.Wait()
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
