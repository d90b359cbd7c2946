package cmd

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/larder-build/larder/images/registrycache"
	"github.com/larder-build/larder/internal/bytesize"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/fetch"
)

// cacheFlags are the flags that name the shared cache.
type cacheFlags struct {
	ref      string
	insecure bool
}

func addCacheFlags(c *cobra.Command, o *cacheFlags) {
	f := c.Flags()
	f.StringVar(&o.ref, "cache", "", `shared cache: docker://REGISTRY/REPO or oci:DIR (default [cache] registry)`)
	f.BoolVar(&o.insecure, "insecure", false, "allow plain HTTP to a cache registry that is not on loopback")
}

// openCache opens the cache the flag or larder.toml names; nil when
// neither does.
func openCache(cmd *cobra.Command, g *globals, verb string, o *cacheFlags) (*registrycache.Cache, error) {
	ref := o.ref
	if err := registrycache.Check(ref); ref != "" && err != nil {
		return nil, usageError{fmt.Errorf("%s: --cache %w", verb, err)}
	}
	if ref == "" && g.cfg.Cache.Registry != "" {
		ref = g.cfg.Cache.Registry
		// A layout named in larder.toml is relative to larder.toml.
		if dir, ok := strings.CutPrefix(ref, registrycache.OCI+":"); ok {
			ref = registrycache.OCI + ":" + g.cfg.Path(dir)
		}
	}
	if ref == "" {
		return nil, nil
	}
	c, err := registrycache.Open(cmd.Context(), ref, registrycache.WithInsecure(o.insecure || g.cfg.Cache.Insecure))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", verb, err)
	}
	return c, nil
}

func newPushCmd(g *globals) *cobra.Command {
	var lockFlag, dirFlag string
	var tags []string
	var jobs int
	var builder string
	cf := &cacheFlags{}
	c := &cobra.Command{
		Use:   "push",
		Short: "Upload the wheelhouse to the shared cache (an OCI registry)",
		Long: `Upload every file of the wheelhouse, and every wheel's .metadata, that the
shared cache does not hold yet: each file is one blob whose digest is its
sha256, the hash the lock records, so a registry stores each file once whoever
pushes it. Then push an OCI artifact manifest listing the wheelhouse's files,
tagged sha256-<the lock's sha256> and with every --tag.

Other machines then run 'larder fetch --cache REF' and get the files from the
registry instead of the index. Credentials come from the Docker config and
its credential helpers, or REGISTRY_AUTH_FILE.`,
		Example: `  larder push --cache docker://ghcr.io/acme/larder-cache
  larder push --tag main
  larder push --cache oci:/mnt/shared/larder`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if jobs < 1 {
				return usageError{fmt.Errorf("push: --jobs must be at least 1, not %d", jobs)}
			}
			if builder != "host" && builder != "buildkit" {
				return usageError{fmt.Errorf("push: unknown --builder %q: want \"host\" or \"buildkit\"", builder)}
			}
			cache, err := openCache(cmd, g, "push", cf)
			if err != nil {
				return err
			}
			if cache == nil {
				return usageError{errors.New("push: no cache: pass --cache docker://REGISTRY/REPO or set [cache] registry in larder.toml")}
			}
			lockPath, dir := wheelhousePaths(g, lockFlag, dirFlag)
			lock, store, err := openLockAndWheelhouse("push", lockPath, dir)
			if err != nil {
				return err
			}
			// Only a wheelhouse that holds the lock, intact, is published
			// under the lock's digest.
			vr, err := fetch.Verify(cmd.Context(), store, lock)
			if err != nil {
				return fmt.Errorf("push: %w", err)
			}
			if vr.Failed(false) {
				return withHint(fmt.Errorf("push: %s does not hold %s intact: %s", dir, lockPath, problemCounts(vr)),
					"run 'larder fetch' first, and 'larder verify' for details")
			}
			sum, _, err := wheelhouse.HashFile(lockPath)
			if err != nil {
				return fmt.Errorf("push: hashing %s: %w", lockPath, err)
			}
			rep, err := registrycache.PushWheelhouse(cmd.Context(), cache, store, sum,
				registrycache.WithTags(tags...), registrycache.WithJobs(jobs), registrycache.WithBuildRecords(builderIdentity(g, builder)))
			if err != nil {
				return fmt.Errorf("push: %w", err)
			}
			return report(cmd.OutOrStdout(), g.json, &pushSummary{Cache: cache.String(), Wheelhouse: dir, PushReport: rep})
		},
	}
	f := c.Flags()
	f.StringVar(&lockFlag, "lock", "", "lock file the wheelhouse holds (default [project] lock)")
	f.StringVar(&dirFlag, "wheelhouse", "", "wheelhouse folder (default [wheelhouse] dir)")
	f.StringArrayVar(&tags, "tag", nil, "a further tag for the wheelhouse manifest, e.g. a branch name (repeatable)")
	f.IntVarP(&jobs, "jobs", "j", fetch.DefaultJobs, "uploads at once")
	f.StringVar(&builder, "builder", "host", `the builder the wheelhouse's forks and sdists were built with, as 'larder fetch --builder' names it ("host" or "buildkit"), for their build keys`)
	addCacheFlags(c, cf)
	return c
}

// pushSummary is what larder push reports, also as JSON.
type pushSummary struct {
	Cache      string `json:"cache"`
	Wheelhouse string `json:"wheelhouse"`
	*registrycache.PushReport
}

// writeText says what the push uploaded.
func (s *pushSummary) writeText(w io.Writer) {
	fmt.Fprintf(w, "pushed %s to %s: %d of %d blobs uploaded (%s), the others already there\n",
		s.Wheelhouse, s.Cache, s.Uploaded, s.Blobs, bytesize.Format(s.Bytes))
	fmt.Fprintf(w, "  manifest %s, tags %v\n", s.Manifest, s.Tags)
}

// builderIdentity names a builder in build keys, as fetch and push both
// must: the interpreter of a host build, the base image of a BuildKit
// one.
func builderIdentity(g *globals, builder string) string {
	if builder == "buildkit" {
		return "buildkit " + g.cfg.Image.Base
	}
	return "host " + g.cfg.Project.Python
}
