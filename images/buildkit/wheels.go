package buildkit

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/larder-build/larder/resolver/gitsrc"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/build"
)

// WheelBuilder builds sdists and git forks into wheels inside the target's
// own base image on a BuildKit daemon: the source is mounted, the build
// dependencies a project declares are installed with apt, and
// `pip wheel --no-deps --no-build-isolation --no-index` runs with no
// network; only the wheel comes out. It is a build.Builder, so fetch
// checks and stores its wheels like any other.
type WheelBuilder struct {
	// Addr is the daemon's address.
	Addr string
	// Base is the image wheels are built in, as a reference (oci:DIR[:TAG]
	// or docker://REF): the image the wheels will be installed in, or one
	// with the same Python and libc. A multi-platform base gives each
	// target its platform's image.
	Base string
	// Apt maps a normalized project name to the Debian packages its build
	// needs ([build.NAME] apt in larder.toml).
	Apt map[string][]string
	// GitCacheDir keeps git checkouts (shared with larder lock).
	GitCacheDir string
	// Progress gets BuildKit's plain progress lines; nil for none.
	Progress io.Writer
}

var _ build.Builder = (*WheelBuilder)(nil)

// Build builds one wheel and returns its path inside outDir.
func (w *WheelBuilder) Build(ctx context.Context, req build.Request, outDir string) (string, error) {
	fail := func(err error, log string) (string, error) {
		return "", &build.Error{Project: req.Project, Version: req.Version, Log: log, Err: err}
	}
	platform := req.Target.Platform()
	if w.Base == "" {
		return fail(fmt.Errorf("no base image to build in for %s: set [image] base", platform), "")
	}
	base, err := ContextFor(ctx, "base", w.Base)
	if err != nil {
		return fail(err, "")
	}
	defer base.Release()
	work, err := os.MkdirTemp("", "larder-wheel-")
	if err != nil {
		return fail(err, "")
	}
	defer os.RemoveAll(work)
	srcDir, target, err := w.source(ctx, req, work)
	if err != nil {
		return fail(err, "")
	}
	ctxDir := filepath.Join(work, "context")
	if err := os.MkdirAll(ctxDir, 0o755); err != nil {
		return fail(err, "")
	}
	dockerfile, err := wheelDockerfile(w.Apt[req.Project], target)
	if err != nil {
		return fail(err, "")
	}
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return fail(err, "")
	}
	c, err := Connect(ctx, w.Addr)
	if err != nil {
		return fail(err, "")
	}
	defer c.Close()
	tail := newTail(25)
	var progress io.Writer = tail
	if w.Progress != nil {
		progress = io.MultiWriter(tail, w.Progress)
	}
	out := filepath.Join(work, "out")
	err = Solve(ctx, c, Request{
		ContextDir: ctxDir, Platforms: []string{platform}, LocalDir: out, Progress: progress, Plain: true,
		Contexts: []Context{base, {Name: "src", Dir: srcDir}},
	})
	if err != nil {
		return fail(err, tail.String())
	}
	wheels, _ := filepath.Glob(filepath.Join(out, "*.whl"))
	if len(wheels) != 1 {
		return fail(fmt.Errorf("the build made %d wheels, want one", len(wheels)), tail.String())
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fail(err, "")
	}
	dst := filepath.Join(outDir, filepath.Base(wheels[0]))
	if err := wheelhouse.CopyFileAtomic(wheels[0], dst, true); err != nil {
		return fail(err, "")
	}
	return dst, nil
}

// source prepares the build context "src" and returns it with the path
// pip builds, relative to its mount at /src.
func (w *WheelBuilder) source(ctx context.Context, req build.Request, work string) (string, string, error) {
	if req.VCS == nil {
		if req.Sdist == "" {
			return "", "", fmt.Errorf("nothing to build: no sdist and no git source")
		}
		dir := filepath.Join(work, "sdist")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", "", err
		}
		name := filepath.Base(req.Sdist)
		if err := os.Link(req.Sdist, filepath.Join(dir, name)); err != nil {
			if err := wheelhouse.CopyFileAtomic(req.Sdist, filepath.Join(dir, name), false); err != nil {
				return "", "", err
			}
		}
		return dir, name, nil
	}
	url := strings.TrimPrefix(req.VCS.URL, "git+")
	repo, _, err := gitsrc.Checkout(ctx, w.GitCacheDir, url, req.VCS.Commit)
	if err != nil {
		return "", "", fmt.Errorf("checking out %s at %s: %w", gitsrc.WithoutCredentials(url), req.VCS.Commit, err)
	}
	sub := "."
	if req.VCS.Subdirectory != "" {
		// The host builder's check, so both builders refuse the same.
		if err := gitsrc.CheckSubdirectory(req.VCS.Subdirectory); err != nil {
			return "", "", err
		}
		sub = filepath.ToSlash(filepath.Clean(req.VCS.Subdirectory))
	}
	return repo, sub, nil
}

// wheelDockerfile builds /src/target into a wheel in the base image,
// installing the apt packages first, and keeps only the wheel. Nothing
// it is given adds a line or a shell word: each apt package must pass
// build.CheckAptPackage (config checks them when larder.toml is read;
// this is for every other caller), and the target, which comes from the
// lock (an sdist's file name or a git subdirectory), is refused with a
// control character and else single-quoted for the shell.
func wheelDockerfile(apt []string, target string) (string, error) {
	for _, p := range apt {
		if err := build.CheckAptPackage(p); err != nil {
			return "", fmt.Errorf("[build] apt: %w", err)
		}
	}
	if !utf8.ValidString(target) || strings.ContainsFunc(target, unicode.IsControl) {
		return "", fmt.Errorf("cannot build %s: its name has a control character or is not UTF-8", strconv.Quote(target))
	}
	var b strings.Builder
	b.WriteString("FROM base AS build\n")
	if len(apt) > 0 {
		fmt.Fprintf(&b, "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends %s\n", strings.Join(apt, " "))
	}
	// The source is mounted read-only and copied: a tree build writes
	// build/ and *.egg-info next to its sources.
	fmt.Fprintf(&b, "RUN --network=none --mount=type=bind,from=src,target=/src \\\n"+
		"    cp -a /src /tmp/src && python3 -m pip wheel --no-deps --no-build-isolation --no-index --wheel-dir /out %s\n", shellQuote("/tmp/src/"+target))
	b.WriteString("FROM scratch\nCOPY --from=build /out/ /\n")
	return b.String(), nil
}

// shellQuote makes s one word for sh, with nothing expanded.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
