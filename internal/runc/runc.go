// Package runc runs an image for real, without a Docker engine: umoci
// unpacks an OCI layout into a runtime bundle, and runc runs it in its own
// namespaces, with a network namespace that has only loopback (offline).
// For the end-to-end run and the demo.
package runc

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/larder-build/larder/images"
)

// Bundle is an unpacked image.
type Bundle struct {
	Dir string
	// Entrypoint is the image's, which Run puts before every command.
	Entrypoint []string
	root       string
}

// Available reports whether umoci and runc are installed and this process
// may run containers (it is root).
func Available() error {
	for _, tool := range []string{"umoci", "runc"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed", tool)
		}
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("running containers with runc needs root")
	}
	return nil
}

// Unpack unpacks the image tagged tag of an OCI layout into dir.
func Unpack(ctx context.Context, layout, tag, dir string) (*Bundle, error) {
	os.RemoveAll(dir)
	out, err := exec.CommandContext(ctx, "umoci", "unpack", "--image", layout+":"+tag, dir).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("umoci unpack %s:%s: %w\n%s", layout, tag, err, out)
	}
	if _, err := readSpec(dir); err != nil {
		return nil, err
	}
	b := &Bundle{Dir: dir, root: filepath.Join(dir, ".runc")}
	// umoci joins the entrypoint and the command in process.args; the
	// image config says which is which.
	ref, err := images.ParseRef("oci:"+layout+":"+tag, false)
	if err != nil {
		return nil, err
	}
	src, err := images.Open(ctx, ref, images.Remote{})
	if err != nil {
		return nil, err
	}
	if src.Image == nil {
		return nil, fmt.Errorf("%s:%s is an index: unpack one platform", layout, tag)
	}
	cf, err := src.Image.ConfigFile()
	if err != nil {
		return nil, err
	}
	b.Entrypoint = cf.Config.Entrypoint
	return b, nil
}

// Mount binds a host folder into the container.
type Mount struct {
	Source, Destination string
	ReadOnly            bool
}

// Run runs the image's entrypoint with cmd (or, when entrypoint is not
// nil, that entrypoint instead of the image's) and returns its exit code;
// its output goes to out. A run that outlasts ctx is killed.
func (b *Bundle) Run(ctx context.Context, name string, entrypoint, cmd []string, mounts []Mount, out io.Writer) (int, error) {
	spec, err := readSpec(b.Dir)
	if err != nil {
		return -1, err
	}
	if entrypoint == nil {
		entrypoint = b.Entrypoint
	}
	proc := spec["process"].(map[string]any)
	proc["args"] = append(append([]string{}, entrypoint...), cmd...)
	proc["terminal"] = false
	ms, _ := spec["mounts"].([]any)
	for _, m := range mounts {
		opts := []string{"rbind"}
		if m.ReadOnly {
			opts = append(opts, "ro")
		}
		ms = append(ms, map[string]any{"destination": m.Destination, "type": "bind", "source": m.Source, "options": opts})
	}
	spec["mounts"] = ms
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return -1, err
	}
	if err := os.WriteFile(filepath.Join(b.Dir, "config.json"), data, 0o644); err != nil {
		return -1, err
	}
	c := exec.Command("runc", "--root", b.root, "run", "--bundle", b.Dir, name)
	c.Stdout, c.Stderr = out, out
	if err := c.Start(); err != nil {
		return -1, err
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		exec.Command("runc", "--root", b.root, "kill", name, "KILL").Run()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			c.Process.Kill()
			<-done
		}
		exec.Command("runc", "--root", b.root, "delete", "--force", name).Run()
		return -1, fmt.Errorf("container %s: %w", name, ctx.Err())
	}
	exec.Command("runc", "--root", b.root, "delete", "--force", name).Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return -1, err
	}
	return 0, nil
}

func readSpec(dir string) (map[string]any, error) {
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("reading the runtime spec: %w", err)
	}
	var spec map[string]any
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, fmt.Errorf("reading the runtime spec: %w", err)
	}
	if _, ok := spec["process"].(map[string]any); !ok {
		return nil, fmt.Errorf("the runtime spec has no process")
	}
	return spec, nil
}
