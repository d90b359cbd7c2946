// Package buildkit drives a BuildKit daemon for larder: Dockerfile builds
// with the wheelhouse attached as a named build context, and hermetic
// builds of forks and sdists into wheels inside the target's base image.
//
// It is the only package that links BuildKit's client (and its hundreds
// of modules); larder-index never does.
package buildkit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/plugins/content/local"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/tonistiigi/fsutil"
	"golang.org/x/sync/errgroup"

	"github.com/larder-build/larder/internal/ocilayout"
)

// DefaultAddr is where buildkitd listens when run as root with no
// --addr.
const DefaultAddr = "unix:///run/buildkit/buildkitd.sock"

// Addr picks the daemon's address: the flag, else BUILDKIT_HOST, else
// DefaultAddr.
func Addr(flag string) string {
	if flag != "" {
		return flag
	}
	if env := os.Getenv("BUILDKIT_HOST"); env != "" {
		return env
	}
	return DefaultAddr
}

// UnreachableError says the daemon did not answer.
type UnreachableError struct {
	Addr string
	Err  error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach BuildKit at %s: %v", e.Addr, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// Connect returns a client of the daemon at addr, once the daemon has
// answered (within 10 s).
func Connect(ctx context.Context, addr string) (*client.Client, error) {
	c, err := client.New(ctx, addr)
	if err != nil {
		return nil, &UnreachableError{Addr: addr, Err: err}
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := c.ListWorkers(pctx); err != nil {
		c.Close()
		return nil, &UnreachableError{Addr: addr, Err: unwrapGRPC(err)}
	}
	return c, nil
}

// unwrapGRPC shortens gRPC's connection errors to their cause.
func unwrapGRPC(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "connection error: desc = "); i >= 0 {
		return errors.New(strings.Trim(msg[i+len("connection error: desc = "):], `"`))
	}
	return err
}

// Context is a named build context of a Dockerfile build: exactly one of
// a local folder, an image in an OCI layout (by digest), or a registry
// image.
type Context struct {
	Name string
	Dir  string
	// Layout is an OCI layout folder and Digest the manifest or index in
	// it ("sha256:...").
	Layout, Digest string
	// Image is a registry reference ("docker.io/library/python:3.11").
	Image string

	// hold is ContextFor's shared hold on Layout, until Release.
	hold *ocilayout.Use
}

// Release lets go of the context's layout, which ContextFor holds so that
// no larder process removes a blob of it while BuildKit reads it. It may
// be called more than once, on any copy of the context.
func (c Context) Release() { c.hold.Close() }

// Request is one Dockerfile build.
type Request struct {
	// ContextDir is the main build context; Dockerfile its file
	// (ContextDir/Dockerfile when "").
	ContextDir, Dockerfile string
	Contexts               []Context
	Platforms              []string
	BuildArgs              map[string]string
	Target                 string
	// NetworkNone runs every RUN with no network.
	NetworkNone bool
	// NoCache runs every step again instead of using BuildKit's cache.
	NoCache bool
	// Exactly one output: an OCI layout folder (the image, or an index
	// with several platforms), or the final stage's files.
	OCIDir, LocalDir string
	// Progress gets BuildKit's progress: redrawn on a terminal, plain
	// lines elsewhere, nothing when nil.
	Progress io.Writer
	// Plain forces plain lines.
	Plain bool
}

// Solve runs a Dockerfile build on c.
func Solve(ctx context.Context, c *client.Client, req Request) error {
	if req.ContextDir == "" {
		return errors.New("no build context folder")
	}
	dockerfile := req.Dockerfile
	if dockerfile == "" {
		dockerfile = filepath.Join(req.ContextDir, "Dockerfile")
	}
	if _, err := os.Stat(dockerfile); err != nil {
		return fmt.Errorf("reading the Dockerfile: %w", err)
	}
	mounts := map[string]fsutil.FS{}
	addDir := func(name, dir string) error {
		fs, err := fsutil.NewFS(dir)
		if err != nil {
			return fmt.Errorf("build context %s: %w", name, err)
		}
		mounts[name] = fs
		return nil
	}
	if err := addDir("context", req.ContextDir); err != nil {
		return err
	}
	if err := addDir("dockerfile", filepath.Dir(dockerfile)); err != nil {
		return err
	}
	attrs := map[string]string{"filename": filepath.Base(dockerfile)}
	if len(req.Platforms) > 0 {
		attrs["platform"] = strings.Join(req.Platforms, ",")
	}
	for k, v := range req.BuildArgs {
		attrs["build-arg:"+k] = v
	}
	if req.Target != "" {
		attrs["target"] = req.Target
	}
	if req.NetworkNone {
		attrs["force-network-mode"] = "none"
	}
	if req.NoCache {
		attrs["no-cache"] = ""
	}
	stores := map[string]content.Store{}
	for _, bc := range req.Contexts {
		key := "context:" + bc.Name
		switch {
		case bc.Dir != "":
			if err := addDir(bc.Name, bc.Dir); err != nil {
				return err
			}
			attrs[key] = "local:" + bc.Name
		case bc.Layout != "":
			cs, err := local.NewStore(bc.Layout)
			if err != nil {
				return fmt.Errorf("build context %s: %w", bc.Name, err)
			}
			stores[bc.Name] = cs
			attrs[key] = "oci-layout://" + bc.Name + "@" + bc.Digest
		case bc.Image != "":
			attrs[key] = "docker-image://" + bc.Image
		default:
			return fmt.Errorf("build context %s: no folder, layout or image", bc.Name)
		}
	}
	var exp client.ExportEntry
	switch {
	case req.OCIDir != "":
		exp = client.ExportEntry{Type: client.ExporterOCI, Attrs: map[string]string{"tar": "false"}, OutputDir: req.OCIDir}
	case req.LocalDir != "":
		exp = client.ExportEntry{Type: client.ExporterLocal, OutputDir: req.LocalDir}
	default:
		return errors.New("no output for the build")
	}
	opt := client.SolveOpt{
		Frontend: "dockerfile.v0", FrontendAttrs: attrs, LocalMounts: mounts, OCIStores: stores,
		Exports: []client.ExportEntry{exp},
	}
	ch := make(chan *client.SolveStatus)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		_, err := c.Solve(gctx, nil, opt, ch)
		return err
	})
	g.Go(func() error {
		out, mode := req.Progress, progressui.AutoMode
		if out == nil {
			out, mode = io.Discard, progressui.QuietMode
		} else if req.Plain {
			mode = progressui.PlainMode
		}
		d, err := progressui.NewDisplay(out, mode)
		if err != nil {
			return err
		}
		// The display drains the channel to its end even after a failure.
		_, err = d.UpdateFrom(context.WithoutCancel(gctx), ch)
		return err
	})
	return g.Wait()
}

// tailWriter keeps the last lines written to it.
type tailWriter struct {
	mu    sync.Mutex
	n     int
	buf   bytes.Buffer
	lines []string
}

func newTail(n int) *tailWriter { return &tailWriter{n: n} }

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	for {
		line, err := t.buf.ReadString('\n')
		if err != nil {
			t.buf.WriteString(line) // an unfinished line waits for the rest
			break
		}
		t.lines = append(t.lines, strings.TrimRight(line, "\n"))
		if len(t.lines) > t.n {
			t.lines = t.lines[len(t.lines)-t.n:]
		}
	}
	return len(p), nil
}

func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}
