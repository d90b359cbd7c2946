package cmd

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/larder-build/larder/cmd/larder/indexembed"
	"github.com/larder-build/larder/images"
	"github.com/larder-build/larder/internal/bytesize"
	"github.com/larder-build/larder/layers"
	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/simple"
	"github.com/larder-build/larder/resolver/target"
	"github.com/larder-build/larder/wheelhouse/serve"
)

// bakeOptions are the flags of larder bake.
type bakeOptions struct {
	base, output, from string
	lock, wheelhouse   string
	path               string
	platforms          []string
	compression        string
	buckets            int
	compact            bool
	insecure           bool
	indexBinaries      []string
	wheelhouseOnly     bool
	plan               bool
	offline            bool
	layerCache         string
}

func newBakeCmd(g *globals) *cobra.Command {
	o := &bakeOptions{}
	c := &cobra.Command{
		Use:   "bake",
		Short: "Bake the wheelhouse into images as reproducible layers, with the index server inside",
		Long: `Stack the wheelhouse onto a base image, one image per platform of the lock (an
image index when there are several), and write it to a registry, an OCI layout or
a docker-archive tarball. No Docker engine is used.

The wheelhouse goes into stable bucket layers (pure-Python files shared by every
platform's image) under a small delta layer. The larder-index binary becomes the
entrypoint: it serves the wheelhouse on 127.0.0.1:3141, which PIP_INDEX_URL and
UV_DEFAULT_INDEX point at, and runs the image's command.

When the output (or --from) is an image larder baked, its bucket layers are kept
as they are and everything that changed goes into the delta on top: a requirements
bump re-pulls one small layer. When the delta outgrows 20% of the wheelhouse (or
with --compact) the buckets are laid out again.

The same lock, wheelhouse, base and larder version give the same image digest on
any machine; SOURCE_DATE_EPOCH sets the times.`,
		Example: `  larder bake --base docker://docker.io/library/python:3.11-slim --output docker://registry.example/app:dev
  larder bake --base oci:base:bookworm --output oci:out/app:dev --platform linux/amd64
  larder bake --plan
  larder bake --wheelhouse-only --output oci:out/wheelhouse`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBake(cmd, g, o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.base, "base", "", "image to bake onto (default [image] base); \"scratch\" for none")
	f.StringVar(&o.output, "output", "", "where the image goes (default [image] output)")
	f.StringVar(&o.from, "from", "", "image whose layers to keep (default: the output, if it exists); \"none\" to lay out afresh")
	f.StringVar(&o.lock, "lock", "", "lock file (default [project] lock)")
	f.StringVar(&o.wheelhouse, "wheelhouse", "", "wheelhouse folder (default [wheelhouse] dir)")
	f.StringVar(&o.path, "path", "", "wheelhouse folder inside the image (default [image] path)")
	f.StringArrayVar(&o.platforms, "platform", nil, "platform to bake, os/arch[/variant] (repeatable; default every platform of the lock)")
	f.StringVar(&o.compression, "compression", "", "layer compression: gzip, zstd or none (default [image] compression)")
	f.IntVar(&o.buckets, "buckets", 0, fmt.Sprintf("bucket layers per set, 1 to %d (default: kept from the previous image, else chosen from the size)", layers.MaxBuckets))
	f.BoolVar(&o.compact, "compact", false, "lay the buckets out again even when the delta is small")
	f.BoolVar(&o.insecure, "insecure", false, "allow plain HTTP to registries that are not on loopback or a private network")
	f.StringArrayVar(&o.indexBinaries, "index-binary", nil, "PLATFORM=PATH of the larder-index binary for a platform (repeatable; default larder-index-OS-ARCH beside larder)")
	f.BoolVar(&o.wheelhouseOnly, "wheelhouse-only", false, "an image from scratch holding the wheelhouse alone (for BuildKit named contexts)")
	f.BoolVar(&o.plan, "plan", false, "print the layer plan and what would be written, and write nothing")
	f.BoolVar(&o.offline, "offline", false, "the image's index server never falls through to the upstream")
	f.StringVar(&o.layerCache, "layer-cache", "", "folder of built layers, reused by later bakes (default $XDG_CACHE_HOME/larder/layers)")
	return c
}

func runBake(cmd *cobra.Command, g *globals, o *bakeOptions) error {
	rep, err := bake(cmd, g, o)
	if err != nil {
		return err
	}
	if g.json {
		return writeJSON(cmd.OutOrStdout(), rep)
	}
	printBakeReport(cmd.OutOrStdout(), rep, o.plan || g.verbose)
	return nil
}

// bake runs a bake with progress on stderr and returns its report; build
// and export bake their wheelhouse images with it.
func bake(cmd *cobra.Command, g *globals, o *bakeOptions) (*images.Report, error) {
	lb, layerDir, err := bakeRequest(g, o)
	if err != nil {
		return nil, err
	}
	if !o.wheelhouseOnly {
		if lb.IndexBinaries, err = indexBinaries(o.indexBinaries); err != nil {
			return nil, usageError{fmt.Errorf("bake: %w", err)}
		}
	}
	p := &bakeProgress{}
	st := newStatus(cmd.ErrOrStderr(), g, p.line)
	rep, err := images.BakeLock(cmd.Context(), lb, images.WithLayerDir(layerDir), images.WithProgress(p.event))
	st.Done()
	if err != nil {
		return nil, bakeError(err)
	}
	if !o.plan {
		if b, err := layers.NewBuilder(layers.WithDir(layerDir)); err == nil {
			b.Prune(30 * 24 * time.Hour)
		}
	}
	return rep, nil
}

// bakeRequest gathers the bake from flags over larder.toml, and the
// folder of built layers.
func bakeRequest(g *globals, o *bakeOptions) (lb images.LockBake, layerDir string, err error) {
	req := images.Request{Buckets: o.buckets, Compact: o.compact, WheelhouseOnly: o.wheelhouseOnly, DryRun: o.plan,
		Version: currentVersion().Version, NoFrom: o.from == "none"}
	pick := func(flag, cfg string) string {
		if flag != "" {
			return flag
		}
		return cfg
	}
	ref := func(what, s string) (images.Ref, error) {
		r, err := images.ParseRef(s, o.insecure)
		if err != nil {
			return r, usageError{fmt.Errorf("bake: %s: %w", what, err)}
		}
		if r.Transport == images.OCI || r.Transport == images.DockerArchive {
			r, err = images.ParseRef(r.Transport+":"+g.cfg.Path(r.Path)+tagSuffix(r.Tag), o.insecure)
		}
		return r, err
	}
	out := pick(o.output, g.cfg.Image.Output)
	if out == "" {
		return lb, "", usageError{errors.New("bake: no output: pass --output (docker://REG/REPO:TAG, oci:DIR[:TAG] or docker-archive:FILE) or set [image] output")}
	}
	if req.Output, err = ref("--output", out); err != nil {
		return lb, "", err
	}
	if req.Output.Transport == images.Scratch {
		return lb, "", usageError{errors.New("bake: --output scratch: scratch is only a base")}
	}
	if !o.wheelhouseOnly {
		base := pick(o.base, g.cfg.Image.Base)
		if base == "" {
			return lb, "", usageError{errors.New("bake: no base image: pass --base (e.g. docker://docker.io/library/python:3.11-slim, or scratch) or set [image] base")}
		}
		if req.Base, err = ref("--base", base); err != nil {
			return lb, "", err
		}
	}
	if o.from != "" && o.from != "none" {
		if req.From, err = ref("--from", o.from); err != nil {
			return lb, "", err
		}
	}
	if req.Compression, err = layers.ParseCompression(pick(o.compression, g.cfg.Image.Compression)); err != nil {
		return lb, "", usageError{fmt.Errorf("bake: --compression: %w", err)}
	}
	if o.buckets < 0 || o.buckets > layers.MaxBuckets {
		return lb, "", usageError{fmt.Errorf("bake: --buckets %d: want 1 to %d", o.buckets, layers.MaxBuckets)}
	}
	req.Path = pick(o.path, g.cfg.Image.Path)
	if err := images.CheckPath(req.Path); err != nil {
		return lb, "", usageError{fmt.Errorf("bake: --path: %w", err)}
	}
	for _, p := range o.platforms {
		t, err := target.ParsePlatform(p)
		if err != nil {
			return lb, "", usageError{fmt.Errorf("bake: --platform: %w", err)}
		}
		req.Platforms = appendNew(req.Platforms, t.Platform())
	}
	layerDir = o.layerCache
	if layerDir == "" {
		layerDir = filepath.Join(index.DefaultCacheDir(), "layers")
	}
	lb.Request = req
	lb.Lock, lb.Wheelhouse = wheelhousePaths(g, o.lock, o.wheelhouse)
	// larder.toml's targets stand in for a lock that records none.
	if ts, err := g.cfg.ParsedTargets(); err == nil {
		for _, t := range ts {
			lb.Targets = append(lb.Targets, t.String())
		}
	}
	// The image's server falls through to the index without its
	// credentials: they never go into an image.
	lb.Index = serve.Config{Upstream: simple.WithoutCredentials(g.cfg.Index.URL), Private: g.cfg.Index.Private, Offline: o.offline}
	return lb, layerDir, nil
}

func tagSuffix(tag string) string {
	if tag == "" {
		return ""
	}
	return ":" + tag
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// indexBinaries finds the larder-index binary of each platform: the
// --index-binary flags, then larder-index-OS-ARCH[-VARIANT] beside the
// larder executable, then the ones embedded in larder (extracted into the
// user cache).
func indexBinaries(flags []string) (map[string]string, error) {
	out := map[string]string{}
	if len(indexembed.Platforms()) > 0 {
		embedded, err := indexembed.Extract(filepath.Join(index.DefaultCacheDir(), "larder-index"))
		if err != nil {
			return nil, err
		}
		maps.Copy(out, embedded)
	}
	if exe, err := os.Executable(); err == nil {
		maps.Copy(out, images.IndexBinariesIn(filepath.Dir(exe)))
	}
	for _, f := range flags {
		p, path, ok := strings.Cut(f, "=")
		if !ok || path == "" {
			return nil, fmt.Errorf("--index-binary %q: want PLATFORM=PATH, e.g. linux/arm64=bin/larder-index-linux-arm64", f)
		}
		t, err := target.ParsePlatform(p)
		if err != nil {
			return nil, fmt.Errorf("--index-binary: %w", err)
		}
		out[t.Platform()] = path
	}
	return out, nil
}

// bakeError adds what to try to the errors users can act on.
func bakeError(err error) error {
	var up *images.UnlockedPlatformError
	var sde *images.SourceDateEpochError
	var le *images.LockError
	var op *net.OpError
	switch {
	case errors.As(err, &up):
		return withHint(usageError{fmt.Errorf("bake: --platform %s: the lock has no target for it (its targets: %s)", up.Platform, strings.Join(up.Targets, ", "))},
			"add a [[target]] for %s to larder.toml and run 'larder lock' again", up.Platform)
	case errors.As(err, &sde):
		return usageError{fmt.Errorf("bake: %w", err)}
	case errors.As(err, &le) && errors.Is(err, fs.ErrNotExist):
		return withHint(fmt.Errorf("bake: %w", err), "run 'larder lock' first, or pass --lock FILE")
	}
	err = fmt.Errorf("bake: %w", err)
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return withHint(err, "the disk is full: free space, or write the output elsewhere; nothing half-written was left")
	case errors.As(err, &op) || errors.Is(err, syscall.ECONNREFUSED):
		return withHint(err, "is the registry running and reachable? a plain-HTTP registry that is not on loopback needs --insecure")
	}
	return err
}

// bakeProgress turns bake events into a status line.
type bakeProgress struct {
	mu          sync.Mutex
	phase       string
	done, total int64
	since       time.Time
	// waiting is the OCI layout the bake waits for, while another larder
	// process uses it.
	waiting string
}

func (p *bakeProgress) event(e images.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.Phase == images.PhaseWait {
		p.waiting = e.Wait
		return
	}
	if e.Phase != p.phase {
		p.phase, p.done, p.since = e.Phase, 0, time.Now()
	}
	p.done += e.N
	p.total = e.Total
}

func (p *bakeProgress) line() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.waiting != "" {
		return fmt.Sprintf("waiting for another larder process using %s", p.waiting)
	}
	switch p.phase {
	case images.PhaseBuild:
		return fmt.Sprintf("building layers: %s of %s", bytesize.Format(p.done), bytesize.Format(p.total))
	case images.PhaseWrite:
		s := fmt.Sprintf("writing: %s of %s", bytesize.Format(p.done), bytesize.Format(p.total))
		if secs := time.Since(p.since).Seconds(); secs > 0.5 {
			s += fmt.Sprintf(", %s/s", bytesize.Format(int64(float64(p.done)/secs)))
		}
		return s
	}
	return "planning layers"
}

func printBakeReport(w io.Writer, r *images.Report, detail bool) {
	verb := "baked"
	if r.DryRun {
		verb = "plan: would bake"
	}
	n := len(r.Images)
	fmt.Fprintf(w, "%s %d image%s into %s\n  %s %s\n", verb, n, plural(n), r.Output, r.MediaType, r.Digest)
	switch {
	case r.Refreshed:
		fmt.Fprintf(w, "  refreshed %s: every bucket layer kept, the delta on top replaced\n", r.From)
	case r.Compacted:
		fmt.Fprintf(w, "  buckets laid out again (%s)\n", r.Reason)
	case r.Reason != "":
		fmt.Fprintf(w, "  first layout (%s)\n", r.Reason)
	default:
		fmt.Fprintln(w, "  first layout of the buckets")
	}
	for _, img := range r.Images {
		fmt.Fprintf(w, "%s  %s  %d files, %s\n", img.Platform, img.Digest, img.Files, bytesize.Format(img.Bytes))
		for _, l := range img.Layers {
			files := ""
			if l.Files > 0 || l.What == layers.KindDelta {
				files = fmt.Sprintf("  %d files, %s", l.Files, bytesize.Format(l.Bytes))
			}
			fmt.Fprintf(w, "  %-18s %-7s %s  %9s%s\n", l.What, l.State, shortDigest(l.Digest), bytesize.Format(l.Size), files)
			if detail {
				for _, name := range l.Names {
					fmt.Fprintf(w, "      %s\n", name)
				}
			}
		}
	}
	switch {
	case r.Upload != nil:
		fmt.Fprintf(w, "would write %d blobs, %s\n", r.Upload.Blobs, bytesize.Format(r.Upload.Bytes))
	case r.Write != nil:
		fmt.Fprintf(w, "wrote %d blobs, %s", r.Write.Blobs, bytesize.Format(r.Write.Bytes))
		if r.Write.Skipped > 0 {
			fmt.Fprintf(w, " (%d already there)", r.Write.Skipped)
		}
		fmt.Fprintln(w)
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func shortDigest(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}
