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

	"github.com/larder-build/larder/internal/piptest"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/uploadtest"
	"github.com/larder-build/larder/internal/wheelhousetest"
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
	var stderr wheelhousetest.Buffer
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
	_, cache := registryCache(t)
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
		out, err := pip.Install(url, site, "web", "fast")
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

// TestAnUploadToOneReplicaIsServedAndPrivateOnEveryOther: two 'larder
// serve --cache --htpasswd' processes share a registry. twine uploads a
// wheel and an sdist to the first; the second, running since before the
// upload, serves it to pip at once; other bytes under the wheel's name are
// refused by the second with 409 though it was never sent the file, and
// the same bytes are accepted; a third replica started afterwards serves
// the upload too, and the upstream, which offers a higher version of that
// name, is never asked for it.
func TestAnUploadToOneReplicaIsServedAndPrivateOnEveryOther(t *testing.T) {
	bin := larderBinary(t)
	pip := piptest.New(t, "python3")
	_, cache := registryCache(t)
	users := uploadtest.Htpasswd(t, "alice:s3cret")
	up := pypitest.Start(t, &pypitest.Index{Projects: []pypitest.Project{
		{Name: "acme-fork", Releases: []pypitest.Release{{Version: "9.0", Wheels: []pypitest.Wheel{{Tags: "py3-none-any"}}}}},
	}})
	replica := func() (simple, legacy, wh string) {
		dir := t.TempDir()
		wh = filepath.Join(dir, "wh")
		simple = startServeProcess(t, bin, dir, "--cache", cache, "--wheelhouse", wh, "--upstream", up.URL(), "--htpasswd", users)
		return simple, strings.TrimSuffix(simple, "simple/") + "legacy/", wh
	}
	_, legacy1, _ := replica()
	simple2, legacy2, wh2 := replica()

	project := &pypitest.Project{Name: "acme-fork", Releases: []pypitest.Release{{Version: "1.0"}}}
	wheel, _, paths := uploadtest.DistFiles(t, filepath.Join(t.TempDir(), "dist"), project, 0)
	if out, err := uploadtest.Twine(t, legacy1, "alice", "s3cret", paths); err != nil {
		t.Fatalf("twine upload to the first replica: %v\n%s", err, out)
	}
	pipInstalls := func(simple, via string) {
		t.Helper()
		site := t.TempDir()
		if out, err := pip.Install(simple, site, "acme-fork"); err != nil {
			t.Fatalf("pip install through the %s replica: %v\n%s", via, err, out)
		}
		if _, err := os.Stat(filepath.Join(site, "acme_fork-1.0.dist-info")); err != nil {
			t.Errorf("through the %s replica, acme-fork 1.0 (the upload) was not installed: %v", via, err)
		}
	}
	up.Reset()
	pipInstalls(simple2, "second")
	other, _, otherPaths := uploadtest.DistFiles(t, filepath.Join(t.TempDir(), "other"), project, 4096)
	if other.Filename != wheel.Filename || other.SHA256 == wheel.SHA256 {
		t.Fatalf("want other bytes under %s, got %s %s", wheel.Filename, other.Filename, other.SHA256)
	}
	out, err := uploadtest.Twine(t, legacy2, "alice", "s3cret", otherPaths[:1])
	if err == nil || !strings.Contains(out, "409") {
		t.Fatalf("other bytes under %s on the second replica: %v, want 409\n%s", wheel.Filename, err, out)
	}
	if _, err := os.Stat(filepath.Join(wh2, "files", wheel.Filename)); err == nil {
		t.Fatalf("the refused upload was stored in the second replica's wheelhouse")
	}
	if out, err := uploadtest.Twine(t, legacy2, "alice", "s3cret", paths[:1]); err != nil {
		t.Fatalf("the same bytes again, to the second replica: %v\n%s", err, out)
	}

	simple3, _, _ := replica()
	pipInstalls(simple3, "third")
	if n := up.TotalRequests(); n != 0 {
		t.Errorf("the upstream was asked %d times (%v); an uploaded project must never fall through", n, up.Counts())
	}
}
