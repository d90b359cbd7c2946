package cmd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/pypitest"
)

var (
	larderBinOnce sync.Once
	larderBin     string
	larderBinErr  error
)

// larderBinary builds the real larder once per test binary run (so that
// -count=20 builds it once).
func larderBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds larder and runs it")
	}
	larderBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "larder-bin-")
		if err != nil {
			larderBinErr = err
			return
		}
		// Readable by other users: the non-root tests run it.
		if err := os.Chmod(dir, 0o755); err != nil {
			larderBinErr = err
			return
		}
		larderBin = filepath.Join(dir, "larder")
		out, err := exec.Command("go", "build", "-o", larderBin, "github.com/larder-build/larder/cmd/larder").CombinedOutput()
		if err != nil {
			larderBinErr = fmt.Errorf("building larder: %v\n%s", err, out)
		}
	})
	if larderBinErr != nil {
		t.Fatal(larderBinErr)
	}
	return larderBin
}

// shareProject is a project folder with its own requirements and lock
// whose wheelhouse is wh (absolute, maybe shared with other projects).
type shareProject struct {
	dir, cache string
	bin        string
}

func newShareProject(t *testing.T, bin, dir, index, wh, cache string, reqs []string) *shareProject {
	t.Helper()
	writeFiles(t, dir, map[string]string{
		"requirements.txt": strings.Join(reqs, "\n") + "\n",
		"larder.toml":      larderTOML(index, "", "[wheelhouse]\ndir = \""+wh+"\"\n"),
	})
	p := &shareProject{dir: dir, cache: cache, bin: bin}
	if out, err := p.cmd("lock").CombinedOutput(); err != nil {
		t.Fatalf("lock in %s: %v\n%s", dir, err, out)
	}
	return p
}

func (p *shareProject) cmd(args ...string) *exec.Cmd {
	c := exec.Command(p.bin, args...)
	c.Dir = p.dir
	c.Env = append(os.Environ(), "XDG_CACHE_HOME="+p.cache)
	return c
}

// shareIndex serves n projects named prefix00.. and returns their names.
func shareIndex(prefixes []string, n, size int) (*pypitest.Index, map[string][]string) {
	idx := &pypitest.Index{}
	names := map[string][]string{}
	for _, prefix := range prefixes {
		for i := range n {
			name := fmt.Sprintf("%s%02d", prefix, i)
			idx.Projects = append(idx.Projects, pypitest.Project{Name: name, Releases: []pypitest.Release{
				{Version: "1.0", Wheels: []pypitest.Wheel{{Tags: "py3-none-any", Size: size}}}}})
			names[prefix] = append(names[prefix], name)
		}
	}
	return idx, names
}

// manifestFiles reads the file names a wheelhouse's manifest lists.
func manifestFiles(t *testing.T, wh string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(wh, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Files []struct{ Filename string } `json:"files"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, f := range m.Files {
		out[f.Filename] = true
	}
	return out
}

// runTogether starts every command at once and returns their outputs
// and errors once all have exited (each bounded by a minute).
func runTogether(t *testing.T, cmds ...*exec.Cmd) ([]string, []error) {
	t.Helper()
	outs := make([]bytes.Buffer, len(cmds))
	errs := make([]error, len(cmds))
	var wg sync.WaitGroup
	for i, c := range cmds {
		c.Stdout, c.Stderr = &outs[i], &outs[i]
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			timer := time.AfterFunc(time.Minute, func() { _ = c.Process.Kill() })
			defer timer.Stop()
			errs[i] = c.Wait()
		}()
	}
	wg.Wait()
	s := make([]string, len(cmds))
	for i := range outs {
		s[i] = outs[i].String()
	}
	return s, errs
}

// TestTwoFetchesIntoOneWheelhouseBothSucceedAndBothVerify runs two real
// 'larder fetch' processes at once into one wheelhouse, as two CI jobs
// sharing it would: of two locks (each file of both must be in the
// manifest afterwards) and of one lock twice. Both exit 0, and 'larder
// verify' passes for each lock.
func TestTwoFetchesIntoOneWheelhouseBothSucceedAndBothVerify(t *testing.T) {
	bin := larderBinary(t)
	idx, names := shareIndex([]string{"alpha", "beta", "both"}, 12, 20_000)
	srv := pypitest.Start(t, idx)
	for _, tt := range []struct {
		name string
		reqs [2][]string
	}{
		{"two locks", [2][]string{append(names["alpha"], names["both"]...), append(names["beta"], names["both"]...)}},
		{"one lock twice", [2][]string{names["alpha"], names["alpha"]}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			wh := filepath.Join(root, "shared-wh")
			srv.SetLatency(0)
			var projects [2]*shareProject
			for i := range projects {
				projects[i] = newShareProject(t, bin, filepath.Join(root, fmt.Sprint("job", i)), srv.URL(), wh, filepath.Join(root, fmt.Sprint("cache", i)), tt.reqs[i])
			}
			// A little latency so that the two fetches overlap for real.
			srv.SetLatency(10 * time.Millisecond)
			outs, errs := runTogether(t, projects[0].cmd("fetch", "--no-progress", "--jobs", "4"), projects[1].cmd("fetch", "--no-progress", "--jobs", "4"))
			srv.SetLatency(0)
			for i, err := range errs {
				if err != nil {
					t.Fatalf("fetch %d: %v\n%s", i, err, outs[i])
				}
			}
			listed := manifestFiles(t, wh)
			for _, reqs := range tt.reqs {
				for _, name := range reqs {
					if f := name + "-1.0-py3-none-any.whl"; !listed[f] {
						t.Errorf("%s is not in the manifest (it lists %d files)", f, len(listed))
					}
				}
			}
			for i, p := range projects {
				if out, err := p.cmd("verify").CombinedOutput(); err != nil {
					t.Errorf("verify of lock %d: %v\n%s", i, err, out)
				}
			}
		})
	}
}

// TestFetchCleansTemporaryFilesOfKilledFetches kills a real fetch with
// SIGKILL twice mid-download (nothing of it runs again: its temporary
// files stay), plants the zero-byte and partial temporary files such
// kills leave in files/, simple/ and the top folder, and expects the next
// fetch to remove every one and 'larder verify' to find nothing wrong.
func TestFetchCleansTemporaryFilesOfKilledFetches(t *testing.T) {
	bin := larderBinary(t)
	idx, names := shareIndex([]string{"pkg"}, 30, 300_000)
	srv := pypitest.Start(t, idx)
	root := t.TempDir()
	wh := filepath.Join(root, "wh")
	p := newShareProject(t, bin, filepath.Join(root, "job"), srv.URL(), wh, filepath.Join(root, "cache"), names["pkg"])
	srv.SetLatency(300 * time.Millisecond)
	files := filepath.Join(wh, "files")
	for range 2 {
		c := p.cmd("fetch", "--no-progress", "--jobs", "4", "--cache-dir", filepath.Join(root, "nocache"))
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			tmps, _ := filepath.Glob(filepath.Join(files, ".*tmp*"))
			if len(tmps) > 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		_ = c.Process.Signal(syscall.SIGKILL)
		_ = c.Wait()
	}
	planted := []string{
		filepath.Join(files, ".pkg00-1.0-py3-none-any.whl.tmp-123456"),
		filepath.Join(files, ".pkg01-1.0-py3-none-any.whl.metadata.tmp-abcdef"),
		filepath.Join(wh, ".manifest.json.123.tmp"),
		filepath.Join(wh, "simple", ".index.json.456.tmp"),
		filepath.Join(wh, "simple", "pkg02", ".index.html.789.tmp"),
	}
	for i, p := range planted {
		writeFiles(t, filepath.Dir(p), map[string]string{filepath.Base(p): strings.Repeat("x", i*100)})
	}
	left, _ := filepath.Glob(filepath.Join(files, ".*"))
	if len(left) <= 2 {
		t.Logf("the killed fetches left no temporary file of their own (%d found)", len(left))
	}
	srv.SetLatency(0)
	if out, err := p.cmd("fetch", "--no-progress").CombinedOutput(); err != nil {
		t.Fatalf("fetch after the kills: %v\n%s", err, out)
	}
	var stray []string
	_ = filepath.WalkDir(wh, func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".") && !strings.HasSuffix(d.Name(), "lock") {
			stray = append(stray, path)
		}
		return nil
	})
	if len(stray) > 0 {
		t.Errorf("temporary files left after the next fetch: %v", stray)
	}
	if out, err := p.cmd("verify").CombinedOutput(); err != nil {
		t.Errorf("verify: %v\n%s", err, out)
	}
}
