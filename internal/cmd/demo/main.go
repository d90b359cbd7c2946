// Command demo is 'make demo': larder's main job on an embedded example,
// on a machine with no PyPI. It serves a small Django service's closure
// (testdata/demo) from a fake index on loopback, makes a git fork, writes
// a larder.toml, runs larder lock, fetch and bake into oci:out/demo, and,
// where umoci and runc can run containers, installs the requirements in
// the baked image with no network. It ends with a summary and the next
// commands to try.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/larder-build/larder/internal/baseimage"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/runc"
	"github.com/larder-build/larder/resolver/tomldoc"
)

func main() {
	bin := flag.String("bin", "bin", "folder of the larder binaries (make build)")
	out := flag.String("out", "out", "folder for the demo project and image")
	cache := flag.String("cache", filepath.Join(os.Getenv("HOME"), ".cache", "larder", "e2e"), "where 'make e2e' keeps its Debian base, used when present")
	noContainer := flag.Bool("no-container", false, "do not install the requirements in the baked image with runc (the summary says so)")
	flag.Parse()
	if err := run(*bin, *out, *cache, *noContainer); err != nil {
		fmt.Fprintln(os.Stderr, "demo: FAILED:", err)
		os.Exit(1)
	}
}

type demo struct {
	bin, dir, project string
	start             time.Time
}

func run(bin, out, cache string, noContainer bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	d := &demo{start: time.Now()}
	var err error
	if d.bin, err = filepath.Abs(bin); err != nil {
		return err
	}
	if d.dir, err = filepath.Abs(out); err != nil {
		return err
	}
	d.project = filepath.Join(d.dir, "demo-project")
	os.RemoveAll(d.project)
	if err := os.MkdirAll(d.project, 0o755); err != nil {
		return err
	}

	d.say("serving the demo index (testdata/demo/index.toml) on loopback")
	idx, err := pypitest.Load("testdata/demo/index.toml")
	if err != nil {
		return err
	}
	srv := pypitest.New(idx)
	if err := srv.Err(); err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go http.Serve(l, srv)
	indexURL := "http://" + l.Addr().String() + "/simple/"

	d.say("making a git fork, acme-utils (not on any index: larder builds it and keeps it private)")
	forkURL, err := d.fork()
	if err != nil {
		return err
	}

	base, baseWhat := "", ""
	if dir, ok := baseimage.Cached(cache); ok {
		base, baseWhat = dir, "Debian bookworm with Python (cached by make e2e)"
	} else {
		d.say("making a base image of this machine's Python (no Docker Hub needed)")
		base = filepath.Join(d.dir, "demo-base")
		if err := baseimage.HostPython(base); err != nil {
			return err
		}
		baseWhat = "this machine's Python, packed as an image"
	}

	reqs, err := os.ReadFile("testdata/demo/requirements.txt")
	if err != nil {
		return err
	}
	files := map[string]string{
		"requirements.txt": string(reqs) + "git+" + forkURL + "@v1.2.0#egg=acme-utils\n",
		// In the image the fork is installed by name: larder-index serves
		// the wheel larder built from it, and only that (it is private).
		"requirements-image.txt": string(reqs) + "acme-utils==1.2.0\n",
		"larder.toml": fmt.Sprintf(`# Written by make demo.
[project]
requirements = ["requirements.txt"]
python = "/usr/bin/python3"

[index]
url = %s

[[target]]
platform = "linux/amd64"
python = "3.11"
libc = "glibc2.36"

[image]
base = %s
output = %s
`, tomldoc.Quote(indexURL), tomldoc.Quote("oci:"+base+":"+baseimage.Tag), tomldoc.Quote("oci:"+filepath.Join(d.dir, "demo")+":latest")),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(d.project, name), []byte(body), 0o644); err != nil {
			return err
		}
	}

	d.say("larder lock")
	if err := d.larder(ctx, os.Stdout, "lock"); err != nil {
		return err
	}
	d.say("larder fetch")
	if err := d.larder(ctx, os.Stdout, "fetch"); err != nil {
		return err
	}
	d.say("larder bake")
	// The demo's index goes away with the demo: the image never falls
	// through to it.
	rep, err := d.bake(ctx, "--from", "none", "--offline")
	if err != nil {
		return err
	}

	// The container step is the point of the demo: without runc it fails,
	// unless the caller asked for no container, and the summary says so.
	ran := "NOT RUN (--no-container): the requirements were not installed in the image"
	if !noContainer {
		if err := runc.Available(); err != nil {
			return fmt.Errorf("installing the requirements in the baked image: %w (as root, 'make demo' installs umoci and runc; or run the demo with --no-container)", err)
		}
		d.say("installing the requirements in the baked image with runc: no network at all")
		ran, err = d.install(ctx, filepath.Join(d.dir, "demo"))
		if err != nil {
			return err
		}
	}

	d.say("a requirements bump: certifi 2024.8.30 -> 2024.12.14, then larder lock, fetch and bake again (a refresh)")
	for _, name := range []string{"requirements.txt", "requirements-image.txt"} {
		p := filepath.Join(d.project, name)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(p, bytes.Replace(b, []byte("certifi==2024.8.30"), []byte("certifi==2024.12.14"), 1), 0o644); err != nil {
			return err
		}
	}
	if err := d.larder(ctx, io.Discard, "lock"); err != nil {
		return err
	}
	if err := d.larder(ctx, io.Discard, "fetch"); err != nil {
		return err
	}
	again, err := d.bake(ctx, "--offline")
	if err != nil {
		return err
	}
	changed, kept := 0, 0
	var delta int64
	for i, l := range again.Images[0].Layers {
		if i < len(rep.Images[0].Layers) && rep.Images[0].Layers[i].Digest == l.Digest {
			kept++
		} else {
			changed++
			delta = l.Size
		}
	}

	img := rep.Images[0]
	fmt.Printf("\n== larder demo: done in %.0fs\n", time.Since(d.start).Seconds())
	fmt.Printf("  project:  %s (larder.toml, requirements.txt, pylock.toml, .larder/wheelhouse)\n", d.project)
	fmt.Printf("  target:   %s, CPython 3.11: %d files, %.1f MB in the wheelhouse\n", img.Platform, img.Files, float64(img.Bytes)/1e6)
	fmt.Printf("  base:     %s\n", baseWhat)
	fmt.Printf("  image:    %s\n            %s\n", rep.Output, rep.Digest)
	for _, l := range img.Layers {
		files := ""
		if l.Files > 0 {
			files = fmt.Sprintf("%d files", l.Files)
		}
		fmt.Printf("            %-22s %8.1f MB  %s\n", l.What, float64(l.Size)/1e6, files)
	}
	fmt.Printf("  run:      %s\n", ran)
	how := fmt.Sprintf("%d layers kept as they were, %d replaced: the delta (%.1f MB)", kept, changed, float64(delta)/1e6)
	if again.Compacted {
		how = fmt.Sprintf("buckets laid out again (%s): %d layers kept, %d replaced", again.Reason, kept, changed)
	}
	fmt.Printf("  refresh:  certifi 2024.8.30 -> 2024.12.14: %s\n            %s\n", how, again.Digest)
	// The commands suggested below must work as printed, offline, right
	// now: the demo runs them first (the index is closed already).
	l.Close()
	if err := d.checkNext(ctx); err != nil {
		return fmt.Errorf("a suggested next command: %w", err)
	}
	fmt.Printf(`
Next, try (offline: the demo's index is gone):
  cd %s
  %s/larder why six                  # the chains that pull six in
  %s/larder verify                   # re-hash the wheelhouse against the lock
  %s/larder bake --plan --offline    # every layer, its files, and what a bake would write (nothing)
  %s/larder export --requirements -  # the closure pinned with hashes, for pip --no-deps
  %s/larder serve --offline &        # the index server that runs in the image
  pip download --no-deps -d /tmp/x --index-url http://127.0.0.1:3141/simple/ django
  skopeo inspect oci:%s/demo:latest
`, d.project, d.bin, d.bin, d.bin, d.bin, d.bin, d.dir)
	return nil
}

// bakeReport is what the demo reads of larder bake --json.
type bakeReport struct {
	Output, Digest, Reason string
	Compacted              bool
	Images                 []struct {
		Platform string
		Files    int
		Bytes    int64
		Layers   []struct {
			What, State, Digest string
			Size                int64
			Files               int
		}
	}
}

func (d *demo) bake(ctx context.Context, args ...string) (*bakeReport, error) {
	var out bytes.Buffer
	if err := d.larder(ctx, &out, append([]string{"bake", "--json"}, args...)...); err != nil {
		return nil, err
	}
	var rep bakeReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || len(rep.Images) == 0 {
		return nil, fmt.Errorf("reading larder bake --json: %v\n%s", err, out.String())
	}
	return &rep, nil
}

func (d *demo) say(msg string) {
	fmt.Printf("\n== %s (%.0fs)\n", msg, time.Since(d.start).Seconds())
}

// larder runs a larder command in the demo project.
func (d *demo) larder(ctx context.Context, out io.Writer, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(d.bin, "larder"), args...)
	cmd.Dir = d.project
	cmd.Stdout, cmd.Stderr = out, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("larder %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// checkNext runs the suggested next commands that end by themselves and
// checks what they say.
func (d *demo) checkNext(ctx context.Context) error {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"why", "six"}, "six"},
		{[]string{"verify"}, "checked"},
		{[]string{"bake", "--plan", "--offline"}, "would write 0 blobs"},
		{[]string{"export", "--requirements", "-"}, "--hash=sha256:"},
	} {
		var out bytes.Buffer
		if err := d.larder(ctx, &out, c.args...); err != nil {
			return err
		}
		if !strings.Contains(out.String(), c.want) {
			return fmt.Errorf("larder %s printed no %q:\n%s", strings.Join(c.args, " "), c.want, out.String())
		}
	}
	return nil
}

// fork makes the git repository of acme-utils, tagged v1.2.0.
func (d *demo) fork() (string, error) {
	dir := filepath.Join(d.project, "forks", "acme-utils")
	files := map[string]string{
		"pyproject.toml": `[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "acme-utils"
version = "1.2.0"
description = "Acme's fork of a small utility library"
requires-python = ">=3.8"
dependencies = ["requests>=2.31", "six"]
`,
		"acme_utils/__init__.py": "\"\"\"Acme's utilities.\"\"\"\n\n__version__ = \"1.2.0\"\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return "", err
		}
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "."}, {"commit", "-q", "-m", "acme-utils 1.2.0"}, {"tag", "v1.2.0"}} {
		cmd := exec.Command("git", append([]string{"-c", "user.name=demo", "-c", "user.email=demo@example.invalid", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("git %v: %w\n%s", args, err, out)
		}
	}
	return "file://" + dir, nil
}

// install runs pip in the baked image through its entrypoint, with the
// project's requirements mounted, in a network namespace with only
// loopback.
func (d *demo) install(ctx context.Context, layout string) (string, error) {
	b, err := runc.Unpack(ctx, layout, "latest", filepath.Join(d.dir, "demo-bundle"))
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(b.Dir)
	script := "set -e; python3 -m pip install -q --root-user-action=ignore --break-system-packages --target /tmp/site -r /work/requirements-image.txt;" +
		" PYTHONPATH=/tmp/site python3 -c 'import django, djangorestframework, celery, requests, lxml, pyyaml, mysqlclient, acme_utils; print(\"imported: django\", django.__version__, \"acme_utils\", acme_utils.__version__)'"
	var out bytes.Buffer
	code, err := b.Run(ctx, "larder-demo", nil, []string{"sh", "-c", script},
		[]runc.Mount{{Source: d.project, Destination: "/work", ReadOnly: true}}, io.MultiWriter(os.Stdout, &out))
	if err != nil || code != 0 {
		return "", fmt.Errorf("pip in the baked image: exit %d, %v", code, err)
	}
	return "pip installed requirements-image.txt in the baked image with no network; " + strings.TrimSpace(lastLine(out.String())), nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
