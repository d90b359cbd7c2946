// Package buildkitd builds and runs a real BuildKit daemon for tests: the
// buildkitd and buildctl of the BuildKit version in go.mod, built from the
// module once and kept, and a daemon in its own network namespace (only
// loopback: nothing it runs can reach past the machine) whose socket the
// test talks to.
package buildkitd

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/testenv"
)

// module returns the BuildKit module's folder and version from go.mod.
func module(root string) (dir, version string, err error) {
	cmd := exec.Command("go", "list", "-m", "-json", "github.com/moby/buildkit")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "", "", fmt.Errorf("finding the BuildKit module: %w", err)
	}
	var m struct{ Dir, Version string }
	if err := json.Unmarshal(out, &m); err != nil {
		return "", "", err
	}
	if m.Dir == "" {
		dl := exec.Command("go", "mod", "download", "github.com/moby/buildkit")
		dl.Dir = root
		if out, err := dl.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("downloading the BuildKit module: %w\n%s", err, out)
		}
		return module(root)
	}
	return m.Dir, m.Version, nil
}

// Binaries returns buildkitd and buildctl for the BuildKit of go.mod,
// built with `go -C <module> build` (its go.mod refuses `go install`) into
// cacheDir/<version>-<go version> the first time.
func Binaries(cacheDir string) (buildkitd, buildctl string, err error) {
	root := moduleRoot()
	dir, version, err := module(root)
	if err != nil {
		return "", "", err
	}
	bin := filepath.Join(cacheDir, version+"-"+runtime.Version())
	buildkitd, buildctl = filepath.Join(bin, "buildkitd"), filepath.Join(bin, "buildctl")
	if _, err := os.Stat(buildctl); err == nil {
		return buildkitd, buildctl, nil
	}
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", "", err
	}
	for _, b := range []struct{ out, pkg string }{{buildkitd, "./cmd/buildkitd"}, {buildctl, "./cmd/buildctl"}} {
		tmp := b.out + ".tmp"
		cmd := exec.Command("go", "-C", dir, "build", "-o", tmp, b.pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("building %s: %w\n%s", b.pkg, err, out)
		}
		if err := os.Rename(tmp, b.out); err != nil {
			return "", "", err
		}
	}
	return buildkitd, buildctl, nil
}

// Daemon is a running buildkitd.
type Daemon struct {
	// Addr is its socket, unix:///...
	Addr string
	cmd  *exec.Cmd
	log  *os.File
}

// Start runs buildkitd (root required) with its state in dir, inside a
// new network namespace with only loopback up, and waits up to a minute
// for it to answer.
func Start(ctx context.Context, buildkitd, buildctl, dir string) (*Daemon, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("buildkitd needs root")
	}
	for _, tool := range []string{"unshare", "runc"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s is not installed", tool)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	sock := filepath.Join(dir, "buildkitd.sock")
	d := &Daemon{Addr: "unix://" + sock}
	var err error
	if d.log, err = os.Create(filepath.Join(dir, "buildkitd.log")); err != nil {
		return nil, err
	}
	script := "ip link set lo up && exec " + strings.Join([]string{buildkitd, "--root", filepath.Join(dir, "root"), "--addr", d.Addr,
		"--oci-worker=true", "--containerd-worker=false", "--oci-worker-snapshotter=overlayfs", "--oci-worker-net=host"}, " ")
	d.cmd = exec.Command("unshare", "--net", "--fork", "--kill-child", "--", "sh", "-c", script)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		probe := exec.CommandContext(ctx, buildctl, "--addr", d.Addr, "debug", "workers")
		if err := probe.Run(); err == nil {
			return d, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			d.Stop()
			log, _ := os.ReadFile(d.log.Name())
			return nil, fmt.Errorf("buildkitd did not answer on %s within a minute:\n%s", d.Addr, log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// NetNS is the daemon's network namespace, for nsenter --net: a server
// started there is on the loopback its builds see.
func (d *Daemon) NetNS() string { return fmt.Sprintf("/proc/%d/ns/net", d.cmd.Process.Pid) }

// SharedDaemon returns the shared daemon (see Shared).
func SharedDaemon(tb testing.TB) *Daemon {
	tb.Helper()
	Shared(tb)
	return shared
}

// Stop ends the daemon.
func (d *Daemon) Stop() {
	d.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-done
	}
	d.log.Close()
}

// moduleRoot is the folder of larder's go.mod.
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

var (
	sharedOnce sync.Once
	shared     *Daemon
	sharedErr  error
)

// Shared returns the address of a daemon for the test process, started on
// first use (root, buildkitd built or cached under testenv.CacheDir
// ("buildkit")); the test skips, or fails in CI, when that cannot be.
// TestMain calls StopShared.
func Shared(tb testing.TB) string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("runs a BuildKit daemon")
	}
	sharedOnce.Do(func() {
		if os.Geteuid() != 0 {
			sharedErr = fmt.Errorf("buildkitd needs root")
			return
		}
		bkd, ctl, err := Binaries(testenv.CacheDir("buildkit"))
		if err != nil {
			sharedErr = err
			return
		}
		dir, err := os.MkdirTemp("", "larder-buildkitd-")
		if err != nil {
			sharedErr = err
			return
		}
		shared, sharedErr = Start(context.Background(), bkd, ctl, dir)
	})
	testenv.Need(tb, sharedErr)
	return shared.Addr
}

// Buildctl returns the buildctl built beside the shared daemon.
func Buildctl(tb testing.TB) string {
	tb.Helper()
	_, ctl, err := Binaries(testenv.CacheDir("buildkit"))
	testenv.Need(tb, err)
	return ctl
}

// StopShared stops the shared daemon, if one was started.
func StopShared() {
	if shared != nil {
		shared.Stop()
		os.RemoveAll(filepath.Dir(strings.TrimPrefix(shared.Addr, "unix://")))
	}
}
