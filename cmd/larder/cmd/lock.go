package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/spf13/cobra"

	"github.com/larder-build/larder/cmd/larder/config"
	"github.com/larder-build/larder/internal/bytesize"
	"github.com/larder-build/larder/resolver"
	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/pylock"
	"github.com/larder-build/larder/resolver/simple"
	"github.com/larder-build/larder/resolver/target"
)

// lockOptions are the flags of larder lock.
type lockOptions struct {
	requirements []string
	constraints  []string
	indexURL     string
	targets      []string
	lock         string
	offline      bool
	allowMissing bool
	cacheDir     string
	parallel     int
	retries      int
}

func newLockCmd(g *globals) *cobra.Command {
	o := &lockOptions{}
	c := &cobra.Command{
		Use:   "lock",
		Short: "Resolve the requirements into pylock.toml, for every target",
		Long: `Resolve the project's requirements into the complete closure for every target
and write it as a PEP 751 lock with the hash of every file.

Fully pinned inputs (pip-compile output, pylock.toml) are verified instead:
every dependency of every pinned package must be satisfied and pinned, except
pip, setuptools, distribute and wheel, which pip-compile leaves out unless
--allow-unsafe: those are resolved within the constraints, and each one is
named in a warning and marked unpinned in the lock.`,
		Example: `  larder lock
  larder lock -r requirements/edx/base.txt -c requirements/constraints.txt \
    --target linux/amd64:3.11:glibc2.36 --target linux/arm64:3.11:glibc2.36`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLock(cmd, g, o)
		},
	}
	f := c.Flags()
	f.StringArrayVarP(&o.requirements, "requirement", "r", nil, "requirement file (repeatable; default [project] requirements)")
	f.StringArrayVarP(&o.constraints, "constraint", "c", nil, "constraint file (repeatable; default [project] constraints)")
	f.StringVar(&o.indexURL, "index-url", "", "simple index URL (default [index] url)")
	f.StringArrayVar(&o.targets, "target", nil, "target OS/ARCH:PYTHON[:LIBC], e.g. linux/amd64:3.11:glibc2.36 (repeatable; default [[target]])")
	f.StringVar(&o.lock, "lock", "", "lock file to write (default [project] lock)")
	f.BoolVar(&o.offline, "offline", false, "use only the local cache, never the network")
	f.BoolVar(&o.allowMissing, "allow-missing-includes", false, "warn instead of failing when a -r/-c file named inside a requirement file is missing")
	f.StringVar(&o.cacheDir, "cache-dir", "", "HTTP and metadata cache (default $XDG_CACHE_HOME/larder)")
	f.IntVar(&o.parallel, "parallel", index.DefaultParallel, "requests in flight at once")
	f.IntVar(&o.retries, "retries", index.DefaultRetries, "retries of a failed request (0 for none)")
	return c
}

// lockSummary is what larder lock reports, also as JSON.
type lockSummary struct {
	Lock     string          `json:"lock"`
	Packages int             `json:"packages"`
	Targets  []targetSummary `json:"targets"`
	Build    []string        `json:"build"`
	Private  []string        `json:"private"`
	Seconds  float64         `json:"seconds"`
	Requests index.Stats     `json:"requests"`
	Verified bool            `json:"verified"`
	// Unpinned are the packages fully pinned inputs left out (pip-compile's
	// unsafe ones) whose versions lock chose.
	Unpinned []unpinnedSummary `json:"unpinned"`
	Warnings []string          `json:"warnings,omitempty"`
}

// unpinnedSummary is a package the pinned inputs left out and lock resolved.
type unpinnedSummary struct {
	Name    string   `json:"name"`
	Version string   `json:"version"`
	Via     []string `json:"via"`
}

type targetSummary struct {
	Target   string `json:"target"`
	Packages int    `json:"packages"`
	Files    int    `json:"files"`
	Bytes    int64  `json:"bytes"`
}

func runLock(cmd *cobra.Command, g *globals, o *lockOptions) error {
	cfg := g.cfg
	start := time.Now()
	if o.retries < 0 {
		return usageError{fmt.Errorf("lock: --retries must not be negative, not %d", o.retries)}
	}
	reqs, cons := o.requirements, o.constraints
	if len(reqs) == 0 {
		for _, r := range cfg.Project.Requirements {
			reqs = append(reqs, cfg.Path(r))
		}
		if len(cons) == 0 {
			for _, c := range cfg.Project.Constraints {
				cons = append(cons, cfg.Path(c))
			}
		}
	}
	if len(reqs) == 0 {
		return withHint(errors.New("lock: no requirements to lock"),
			"list them under [project] requirements in larder.toml ('larder init' writes one), or pass -r FILE")
	}
	targets, err := lockTargets(cfg, o.targets)
	if err != nil {
		return usageError{fmt.Errorf("lock: %w", err)}
	}
	lockPath := o.lock
	if lockPath == "" {
		lockPath = cfg.Path(cfg.Project.Lock)
	}
	if err := checkLockOutput(lockPath, append(append([]string{}, reqs...), cons...)); err != nil {
		return err
	}
	indexURL := o.indexURL
	if indexURL == "" {
		indexURL = cfg.Index.URL
	}
	cacheDir := o.cacheDir
	if cacheDir == "" {
		cacheDir = index.DefaultCacheDir()
	}
	nrc, err := loadNetrc("lock")
	if err != nil {
		return err
	}
	var projects map[string]string
	if len(cfg.Index.Projects) > 0 {
		projects = map[string]string{}
	}
	for name, u := range cfg.Index.Projects {
		projects[name] = withNetrc([]string{u}, nrc)[0]
	}
	req := resolver.LockRequest{
		Requirements: reqs, Constraints: cons, AllowMissing: o.allowMissing,
		Extras: cfg.Project.Extras, Groups: cfg.Project.Groups, Targets: targets,
		IndexURLs: withNetrc(append([]string{indexURL}, cfg.Index.ExtraURLs...), nrc), Projects: projects, Private: cfg.Index.Private,
		Pre: cfg.Project.Pre, OnlyBinary: cfg.Project.OnlyBinary, NoBinary: cfg.Project.NoBinary, Python: cfg.Project.Python,
		Previous: lockPath,
	}
	client, err := req.NewIndex(index.WithParallel(o.parallel), index.WithRetries(o.retries, index.DefaultBackoff), index.WithOffline(o.offline), index.WithCacheDir(cacheDir))
	if err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	var resolvedCount atomic.Int64
	var lastPkg atomic.Value
	lastPkg.Store("")
	st := newStatus(cmd.ErrOrStderr(), g, func() string {
		s := client.Stats()
		return fmt.Sprintf("resolving: %d versions examined, %d requests (%d pages, %d metadata), %s",
			resolvedCount.Load(), s.Requests, s.PagesFetched+s.Revalidated, s.MetadataFiles+s.RangeReads+s.FullDownloads, lastPkg.Load())
	})
	locked, err := resolver.Lock(cmd.Context(), req, resolver.WithIndex(client), resolver.WithCacheDir(cacheDir),
		resolver.WithProgress(func(e resolver.Event) {
			if e.Restart {
				// A re-lock searching again: count its versions only.
				resolvedCount.Store(0)
				lastPkg.Store("")
				return
			}
			resolvedCount.Add(1)
			lastPkg.Store(e.Package + " " + e.Version)
		}))
	st.Done()
	if err != nil {
		return indexHint(fmt.Errorf("lock: %w", err), indexURL)
	}
	res, in, lk := locked.Result, locked.Inputs, locked.Lock
	if err := pylock.WriteFile(lockPath, lk); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	sum := summarize(res, lockPath, time.Since(start), client.Stats())
	sum.Verified = in.Pinned
	sum.Warnings = in.Warnings
	sum.Unpinned = unpinnedOf(lk)
	for _, u := range sum.Unpinned {
		sum.Warnings = append(sum.Warnings, fmt.Sprintf("%s==%s is resolved, not pinned: the inputs leave it out (as pip-compile does without --allow-unsafe) "+
			"but %s requires it; it is the newest version the constraints and its dependents allow (pin it in the inputs to choose another)",
			u.Name, u.Version, strings.Join(append(append([]string{}, u.Via...), u.Name), " -> ")))
	}
	return report(cmd.OutOrStdout(), g.json, sum)
}

// unpinnedOf lists the packages of a lock that the inputs did not pin,
// each with one chain of the pinned packages that require it.
func unpinnedOf(lk *pylock.Lock) []unpinnedSummary {
	out := []unpinnedSummary{}
	for _, p := range lk.Packages {
		lt := p.Tool.Larder
		if lt == nil || !lt.Unpinned {
			continue
		}
		u := unpinnedSummary{Name: p.Name, Version: p.Version, Via: []string{}}
		if len(lt.Via) > 0 {
			u.Via = lt.Via[0]
		}
		out = append(out, u)
	}
	return out
}

// lockTargets picks the targets from --target flags or the configuration.
func lockTargets(cfg *config.Config, flags []string) ([]target.Target, error) {
	if len(flags) == 0 {
		return cfg.ParsedTargets()
	}
	var out []target.Target
	for _, s := range flags {
		t, err := target.Parse(s)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// indexHint adds what to try when the index could not be reached. It
// names the index without its user or password.
func indexHint(err error, indexURL string) error {
	indexURL = simple.RedactURL(indexURL)
	var ne net.Error
	var se *index.StatusError
	switch {
	case errors.Is(err, context.Canceled):
		// An interrupt cancels every request: that is not the index's fault.
		return withHint(err, "interrupted: nothing was written; run 'larder lock' again")
	case errors.As(err, &ne):
		return withHint(err, "the index %s is unreachable: check the URL and the network, or use --offline to lock from the cache", indexURL)
	case errors.As(err, &se) && se.Code >= 500:
		return withHint(err, "the index %s is failing; try again later", indexURL)
	case errors.As(err, &se) && (se.Code == 401 || se.Code == 403):
		return withHint(err, "%s", credentialsHint)
	}
	return err
}

func summarize(res *resolver.Result, lockPath string, d time.Duration, stats index.Stats) *lockSummary {
	s := &lockSummary{Lock: lockPath, Seconds: d.Seconds(), Requests: stats, Build: []string{}, Private: []string{}}
	names := map[string]bool{}
	for ti, t := range res.Targets {
		ts := targetSummary{Target: t.String()}
		for _, p := range res.Packages {
			f, ok := p.Files[ti]
			if !ok {
				continue
			}
			ts.Packages++
			ts.Files++
			if f.Size > 0 {
				ts.Bytes += f.Size
			}
		}
		s.Targets = append(s.Targets, ts)
	}
	for _, p := range res.Packages {
		names[p.Name] = true
		if p.Build {
			s.Build = append(s.Build, p.Name+"=="+p.Version.String())
		}
	}
	s.Packages = len(names)
	sort.Strings(s.Build)
	return s
}

// writeText says what was locked, target by target.
func (s *lockSummary) writeText(w io.Writer) {
	verb := "locked"
	if s.Verified {
		verb = "verified and locked"
	}
	fmt.Fprintf(w, "%s %d packages for %d target(s) in %.1fs -> %s\n", verb, s.Packages, len(s.Targets), s.Seconds, s.Lock)
	for _, t := range s.Targets {
		fmt.Fprintf(w, "  %-32s %4d packages %4d files %10s\n", t.Target, t.Packages, t.Files, bytesize.Format(t.Bytes))
	}
	if len(s.Build) > 0 {
		fmt.Fprintf(w, "  to build from source: %v\n", s.Build)
	}
	r := s.Requests
	fmt.Fprintf(w, "  %d requests: pages %d fetched, %d revalidated, %d cached; metadata %d files, %d range reads, %d downloads, %d cached\n",
		r.Requests, r.PagesFetched, r.Revalidated, r.PageCacheHits, r.MetadataFiles, r.RangeReads, r.FullDownloads, r.MetadataHits)
	for _, wn := range s.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", escapeControls(wn))
	}
}

// checkLockOutput refuses to write the lock over one of the inputs, or
// over a file larder did not write (a PEP 751 lock of pip lock, uv
// export or PDM, or anything else): larder would replace the project's
// own file with its lock.
func checkLockOutput(lockPath string, inputs []string) error {
	hint := "set [project] lock in larder.toml (or pass --lock) to another file, such as " + config.OwnLockName
	out, err := os.Stat(lockPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	for _, in := range inputs {
		if fi, err := os.Stat(in); err == nil && os.SameFile(fi, out) {
			return withHint(fmt.Errorf("lock: the lock to write, %s, is also an input", lockPath), "%s", hint)
		}
	}
	// Only created-by is read: a lock larder's reader would refuse (a
	// newer lock-version, another tool's keys) is still someone's.
	f, err := os.Open(lockPath)
	if err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer f.Close()
	var head struct {
		CreatedBy string `toml:"created-by"`
	}
	if err := toml.NewDecoder(io.LimitReader(f, 64<<20)).Decode(&head); err != nil || head.CreatedBy != "larder" {
		who := "another tool"
		if head.CreatedBy != "" {
			who = head.CreatedBy
		}
		return withHint(fmt.Errorf("lock: %s was written by %s, not larder: refusing to replace it", lockPath, who), "%s", hint)
	}
	return nil
}
