package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/dockerregistry"
	"github.com/larder-build/larder/internal/piptest"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/resolver/pylock"
)

// startServeProcess runs the real larder binary's 'larder serve --json'
// in dir with args, and returns the index URL its first line names; the
// process is stopped at the end of the test.
func startServeProcess(t *testing.T, bin, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := exec.CommandContext(ctx, bin, append([]string{"serve", "--json", "--addr", "127.0.0.1:0", "--cache-dir", filepath.Join(dir, "fetched")}, args...)...)
	c.Dir = dir
	c.Env = append(os.Environ(), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
	var stderr syncBuffer
	c.Stderr = &stderr
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		c.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		if s.Scan() {
			line <- s.Text()
		}
		close(line)
	}()
	select {
	case l, ok := <-line:
		var v struct {
			Serving string `json:"serving"`
		}
		if !ok || json.Unmarshal([]byte(l), &v) != nil || v.Serving == "" {
			t.Fatalf("larder serve %s: first line %q\n%s", strings.Join(args, " "), l, stderr.String())
		}
		return v.Serving
	case <-time.After(time.Minute):
		t.Fatalf("larder serve %s printed nothing in a minute\n%s", strings.Join(args, " "), stderr.String())
	}
	return ""
}

// TestTwoServeProcessesShareOneRegistryAndNothingElse: machine A locks,
// fetches and pushes; the index is stopped; two real 'larder serve
// --cache' processes, each in a folder of its own with no wheelhouse,
// serve the closure from the registry alone, and the real pip installs it
// through each.
func TestTwoServeProcessesShareOneRegistryAndNothingElse(t *testing.T) {
	bin := larderBinary(t)
	pip := piptest.New(t, "python3")
	if _, err := exec.LookPath("docker-registry"); err != nil {
		t.Skip("docker-registry is not installed (apt-get install docker-registry)")
	}
	reg, err := dockerregistry.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Stop)
	cache := "docker://" + reg.Host + "/acme/larder"
	srv := pypitest.Start(t, smallIndex())
	a := newProject(t, srv, "web\nfast\n", "[wheelhouse]\ndir = \"wh\"\n[[target]]\nplatform = \"linux/amd64\"\npython = \"3.11\"\n")
	mustRun(t, a, []string{"lock"}, []string{"fetch"}, []string{"push", "--cache", cache})
	lock, err := pylock.Load(filepath.Join(a, "pylock.toml"))
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	srv.Reset()

	for i := range 2 {
		dir := t.TempDir()
		url := startServeProcess(t, bin, dir, "--cache", cache, "--wheelhouse", filepath.Join(dir, "wh"), "--upstream", srv.URL())
		site := filepath.Join(dir, "site")
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		c := exec.CommandContext(ctx, pip.Python, "-m", "pip", "install", "--index-url", url, "--target", site, "web", "fast")
		c.Env = pip.Env
		out, err := c.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("replica %d: pip install: %v\n%s", i+1, err, out)
		}
		for _, p := range lock.Packages {
			want := strings.ReplaceAll(p.Name, "-", "_") + "-" + p.Version + ".dist-info"
			if _, err := os.Stat(filepath.Join(site, want)); err != nil {
				t.Errorf("replica %d: %s not installed; pip said:\n%s", i+1, want, out)
			}
		}
	}
	if n := len(srv.Counts()); n != 0 {
		t.Fatalf("the replicas sent %d requests to the index: %v", n, srv.Counts())
	}
}
