package cmd

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/larder-build/larder/images"
	"github.com/larder-build/larder/images/buildkit"
	"github.com/larder-build/larder/internal/bytesize"
	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/target"
)

// buildOptions are the flags of larder build.
type buildOptions struct {
	file        string
	output      string
	platforms   []string
	buildArgs   []string
	target      string
	contexts    []string
	networkNone bool
	addr        string
	wheelhouse  string
	insecure    bool
	lock, whDir string
}

func newBuildCmd(g *globals) *cobra.Command {
	o := &buildOptions{}
	c := &cobra.Command{
		Use:   "build [CONTEXT]",
		Short: "Build a Dockerfile with BuildKit, the wheelhouse attached as the build context \"wheelhouse\"",
		Long: `Run a Dockerfile build on a BuildKit daemon (the engine behind docker buildx) with
the wheelhouse attached as a named build context, "wheelhouse": an image holding
/wheelhouse and nothing else, baked from the lock (or given with --wheelhouse-image).
A Dockerfile installs from its static index with no network:

  RUN --mount=type=bind,from=wheelhouse,source=/wheelhouse,target=/wheelhouse \
      pip install --index-url file:///wheelhouse/simple/ -r requirements/edx/base.txt

(--no-index --find-links /wheelhouse/files works too, but pip compares every file
with every requirement: for edx-platform it takes twice as long.)

The result is written like a bake's: docker://, oci: or docker-archive:. Progress is
BuildKit's own: redrawn on a terminal, plain lines in CI.`,
		Example: `  larder build --output docker://registry.example/lms:dev
  larder build -f docker/Dockerfile --platform linux/amd64 --output oci:out/lms:dev .
  larder build --build-context base=oci:base:bookworm --network-none --output oci:out/app`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return runBuild(cmd, g, o, dir)
		},
	}
	f := c.Flags()
	f.StringVarP(&o.file, "file", "f", "", "Dockerfile (default CONTEXT/Dockerfile)")
	f.StringVar(&o.output, "output", "", "where the image goes (default [image] output)")
	f.StringArrayVar(&o.platforms, "platform", nil, "platform to build (repeatable; default every platform of the lock)")
	f.StringArrayVar(&o.buildArgs, "build-arg", nil, "KEY=VALUE build argument (repeatable)")
	f.StringVar(&o.target, "target", "", "Dockerfile stage to build")
	f.StringArrayVar(&o.contexts, "build-context", nil, "NAME=REF more named contexts: a folder, oci:DIR[:TAG] or docker://REF (repeatable)")
	f.BoolVar(&o.networkNone, "network-none", false, "run every RUN with no network")
	f.StringVar(&o.addr, "buildkit-addr", "", "BuildKit daemon (default $BUILDKIT_HOST, else "+buildkit.DefaultAddr+")")
	f.StringVar(&o.wheelhouse, "wheelhouse-image", "", "the wheelhouse context as oci:DIR[:TAG] (default: baked from the lock into larder's cache)")
	f.BoolVar(&o.insecure, "insecure", false, "allow plain HTTP to registries that are not on loopback or a private network")
	f.StringVar(&o.lock, "lock", "", "lock file (default [project] lock)")
	f.StringVar(&o.whDir, "wheelhouse", "", "wheelhouse folder (default [wheelhouse] dir)")
	return c
}

func runBuild(cmd *cobra.Command, g *globals, o *buildOptions, dir string) error {
	out := o.output
	if out == "" {
		out = g.cfg.Image.Output
	}
	if out == "" {
		return usageError{errors.New("build: no output: pass --output (docker://REGISTRY/REPO:TAG, oci:DIR[:TAG] or docker-archive:FILE) or set [image] output")}
	}
	outRef, err := images.ParseRef(out, o.insecure)
	if err != nil {
		return usageError{fmt.Errorf("build: --output: %w", err)}
	}
	args := map[string]string{}
	for _, kv := range o.buildArgs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usageError{fmt.Errorf("build: --build-arg %q: want KEY=VALUE", kv)}
		}
		args[k] = v
	}
	var platforms []string
	for _, p := range o.platforms {
		t, err := target.ParsePlatform(p)
		if err != nil {
			return usageError{fmt.Errorf("build: --platform: %w", err)}
		}
		platforms = appendNew(platforms, t.Platform())
	}
	// The layouts of the contexts are held until the build is over (or
	// fails): BuildKit reads them, and no other larder process's clean-up
	// may remove a blob of them meanwhile.
	var contexts []buildkit.Context
	defer func() {
		for _, bc := range contexts {
			bc.Release()
		}
	}()
	for _, kv := range o.contexts {
		name, ref, ok := strings.Cut(kv, "=")
		if !ok || name == "" || ref == "" {
			return usageError{fmt.Errorf("build: --build-context %q: want NAME=REF", kv)}
		}
		bc, err := buildkit.ContextFor(cmd.Context(), name, ref)
		if err != nil {
			return fmt.Errorf("build: %w", err)
		}
		contexts = append(contexts, bc)
	}
	// The daemon is checked before anything is baked for it.
	c, err := buildkit.Connect(cmd.Context(), buildkit.Addr(o.addr))
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	c.Close()
	whRef := o.wheelhouse
	if whRef == "" {
		// The wheelhouse image lives in larder's cache, one layout per
		// wheelhouse folder, refreshed like any bake.
		_, whDir := wheelhousePaths(g, o.lock, o.whDir)
		abs, _ := filepath.Abs(whDir)
		sum := sha256.Sum256([]byte(abs))
		whRef = "oci:" + filepath.Join(index.DefaultCacheDir(), "contexts", hex.EncodeToString(sum[:8])) + ":wheelhouse"
		bo := &bakeOptions{wheelhouseOnly: true, output: whRef, platforms: platforms, lock: o.lock, wheelhouse: o.whDir}
		rep, err := bake(cmd, g, bo)
		if err != nil {
			return err
		}
		if len(platforms) == 0 {
			for _, img := range rep.Images {
				platforms = append(platforms, img.Platform)
			}
		}
	}
	wh, err := buildkit.ContextFor(cmd.Context(), "wheelhouse", whRef)
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	contexts = append(contexts, wh)
	if o.wheelhouse == "" {
		// The digest BuildKit is given, resolved under the layout's hold:
		// another bake may have retagged it since this one's.
		fmt.Fprintf(cmd.ErrOrStderr(), "wheelhouse context: %s (%s)\n", whRef, wh.Digest)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	var progress io.Writer = cmd.ErrOrStderr()
	if g.json || g.noProgress {
		progress = nil
	}
	req := buildkit.Image{
		Request: buildkit.Request{ContextDir: abs, Dockerfile: o.file, Contexts: contexts, Platforms: platforms,
			BuildArgs: args, Target: o.target, NetworkNone: o.networkNone, Progress: progress, Plain: g.noProgress},
		Output: outRef,
	}
	res, err := buildkit.BuildImage(cmd.Context(), buildkit.Addr(o.addr), req)
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	if g.json {
		return writeJSON(cmd.OutOrStdout(), struct {
			Output string `json:"output"`
			*images.WriteResult
		}{outRef.String(), res})
	}
	fmt.Fprintf(cmd.OutOrStdout(), "built %s\n  %s\n  wrote %d blobs, %s", outRef, res.Digest, res.Blobs, bytesize.Format(res.Bytes))
	if res.Skipped > 0 {
		fmt.Fprintf(cmd.OutOrStdout(), " (%d already there)", res.Skipped)
	}
	fmt.Fprintln(cmd.OutOrStdout())
	return nil
}
