package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/larder-build/larder/images"
	"github.com/larder-build/larder/images/buildkit"
	"github.com/larder-build/larder/internal/bytesize"
	"github.com/larder-build/larder/resolver"
	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/pylock"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/build"
	"github.com/larder-build/larder/wheelhouse/fetch"
)

// fetchOptions are the flags of larder fetch.
type fetchOptions struct {
	lock       string
	wheelhouse string
	jobs       int
	retries    int
	builder    string
	cacheDir   string
	addr       string
	indexURL   string
	cache      cacheFlags
	push       bool
}

func newFetchCmd(g *globals) *cobra.Command {
	o := &fetchOptions{}
	c := &cobra.Command{
		Use:   "fetch",
		Short: "Download, verify and build every file of the lock into the wheelhouse",
		Long: `Fill the wheelhouse with every file the lock lists, each verified against the
lock's sha256 and size before it is kept, and build wheels for the packages
that have only an sdist or come from git. Files already in the wheelhouse or
in the user cache are not downloaded again. The wheelhouse gets a PEP 658
.metadata file for every wheel and a static simple index, so that pip installs
from it with --find-links DIR/files or --index-url file://DIR/simple/.

With --cache (or [cache] registry), every file is looked for in the shared
cache, by its sha256, before the index, and verified against the lock; a
cache that cannot be reached is reported once and the index takes over. With
--push (or [cache] push), what the fetch downloads is put into the cache.

An interrupted fetch keeps what finished; run it again to get the rest.`,
		Example: `  larder fetch
  larder fetch --lock pylock.toml --wheelhouse /tmp/wh --jobs 16
  larder fetch --builder none --json
  larder fetch --cache docker://ghcr.io/acme/larder-cache --push`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runFetch(cmd, g, o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.lock, "lock", "", "lock file to fetch (default [project] lock)")
	f.StringVar(&o.wheelhouse, "wheelhouse", "", "wheelhouse folder (default [wheelhouse] dir)")
	f.IntVarP(&o.jobs, "jobs", "j", fetch.DefaultJobs, "downloads at once")
	f.IntVar(&o.retries, "retries", fetch.DefaultRetries, "retries of a failed download (0 for none)")
	f.StringVar(&o.builder, "builder", "host", `how to build wheels from source: "host" (pip on this machine), "buildkit" (in [image] base on a BuildKit daemon) or "none"`)
	f.StringVar(&o.addr, "buildkit-addr", "", "BuildKit daemon for --builder buildkit (default $BUILDKIT_HOST, else "+buildkit.DefaultAddr+")")
	f.StringVar(&o.cacheDir, "cache-dir", "", "user cache shared by wheelhouses and builds (default $XDG_CACHE_HOME/larder)")
	f.StringVar(&o.indexURL, "index-url", "", "an index URL whose user and password (https://USER:TOKEN@host/simple/) go to its files, first (as given to 'larder lock --index-url')")
	addCacheFlags(c, &o.cache)
	f.BoolVar(&o.push, "push", false, "put what the fetch downloads into the --cache registry (default [cache] push)")
	return c
}

// fetchSummary is what larder fetch reports, also as JSON.
type fetchSummary struct {
	Lock       string `json:"lock"`
	Wheelhouse string `json:"wheelhouse"`
	*fetch.Report
}

// wheelhousePaths picks the lock and wheelhouse from flags or larder.toml.
func wheelhousePaths(g *globals, lockFlag, dirFlag string) (lockPath, dir string) {
	lockPath, dir = lockFlag, dirFlag
	if lockPath == "" {
		lockPath = g.cfg.Path(g.cfg.Project.Lock)
	}
	if dir == "" {
		dir = g.cfg.Path(g.cfg.Wheelhouse.Dir)
	}
	return lockPath, dir
}

// loadLock reads the lock with the hint every wheelhouse verb gives.
func loadLock(verb, path string) (*pylock.Lock, error) {
	l, err := pylock.Load(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, withHint(fmt.Errorf("%s: %w", verb, err), "run 'larder lock' first, or pass --lock FILE")
		}
		return nil, fmt.Errorf("%s: %w", verb, err)
	}
	return l, nil
}

func runFetch(cmd *cobra.Command, g *globals, o *fetchOptions) error {
	if o.jobs < 1 {
		return usageError{fmt.Errorf("fetch: --jobs must be at least 1, not %d", o.jobs)}
	}
	if o.retries < 0 {
		return usageError{fmt.Errorf("fetch: --retries must not be negative, not %d", o.retries)}
	}
	if o.builder != "host" && o.builder != "none" && o.builder != "buildkit" {
		return usageError{fmt.Errorf("fetch: unknown --builder %q: want \"host\", \"buildkit\" or \"none\"", o.builder)}
	}
	lockPath, dir := wheelhousePaths(g, o.lock, o.wheelhouse)
	lock, err := loadLock("fetch", lockPath)
	if err != nil {
		return err
	}
	store, err := wheelhouse.Create(dir)
	var inconsistent *wheelhouse.InconsistentError
	if err != nil && !errors.As(err, &inconsistent) { // fetch repairs an inconsistent store
		return fmt.Errorf("fetch: %w", err)
	}
	cacheDir := o.cacheDir
	if cacheDir == "" {
		cacheDir = index.DefaultCacheDir()
	}
	// A lock names no credentials: a private index's files get those of
	// --index-url, then of the configured index URLs, then of the netrc.
	creds := append([]string{o.indexURL, g.cfg.Index.URL}, g.cfg.Index.ExtraURLs...)
	for _, name := range slices.Sorted(maps.Keys(g.cfg.Index.Projects)) {
		creds = append(creds, g.cfg.Index.Projects[name])
	}
	nrc, err := loadNetrc("fetch")
	if err != nil {
		return err
	}
	gitURLs, err := inputGitURLs(cmd.Context(), g, lock)
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "larder: warning: %s: git sources are checked out without the credentials their URLs there give\n", escapeControls(err.Error()))
	}
	opts := []fetch.Option{fetch.WithJobs(o.jobs), fetch.WithRetries(o.retries), fetch.WithCacheDir(cacheDir), fetch.WithIndexCredentials(creds...),
		fetch.WithNetrc(nrc), fetch.WithGitCredentials(gitURLs...)}
	shared, err := openCache(cmd, g, "fetch", &o.cache)
	if err != nil {
		return err
	}
	push := o.push || g.cfg.Cache.Push
	if shared != nil {
		opts = append(opts, fetch.WithCache(shared, push))
	} else if o.push {
		return usageError{errors.New("fetch: --push needs --cache docker://REGISTRY/REPO or [cache] registry in larder.toml")}
	}
	if o.builder == "buildkit" {
		b, err := buildkitBuilder(g, o, cacheDir, cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		opts = append(opts, fetch.WithBuilder(b), fetch.WithBuilderIdentity(builderIdentity(g, "buildkit")))
	}
	if o.builder != "buildkit" {
		// Wheels built with another interpreter are not taken from the
		// shared cache for this one; a machine that cannot build (none)
		// takes those of the builder the project names.
		opts = append(opts, fetch.WithBuilderIdentity(builderIdentity(g, "host")))
	}
	if o.builder == "host" {
		opts = append(opts, fetch.WithBuilderFunc(func() (build.Builder, error) {
			bo := []build.Option{
				build.WithPython(g.cfg.Project.Python),
				build.WithCacheDir(filepath.Join(cacheDir, "builds")),
				build.WithFindLinks(filepath.Join(store.Dir(), wheelhouse.FilesDir)),
			}
			if g.cfg.Index.URL != "" {
				bo = append(bo, build.WithIndex(g.cfg.Index.URL))
			}
			return build.NewHost(bo...)
		}))
	}

	p := newFetchProgress(lock, cmd.ErrOrStderr(), g.verbose && !g.json)
	opts = append(opts, fetch.WithProgress(p.event))
	st := newStatus(cmd.ErrOrStderr(), g, p.line)
	rep, err := fetch.Fetch(cmd.Context(), store, lock, opts...)
	st.Done()
	var nb *fetch.NeedsBuilderError
	if rep != nil && (err == nil || errors.As(err, &nb)) {
		if perr := report(cmd.OutOrStdout(), g.json, &fetchSummary{Lock: lockPath, Wheelhouse: dir, Report: rep}); perr != nil {
			return perr
		}
	}
	switch {
	case err == nil:
		return nil
	case errors.As(err, &nb):
		if o.builder == "none" {
			return withHint(fmt.Errorf("fetch: %w", err), "drop --builder none to build them with pip on this machine")
		}
		return fmt.Errorf("fetch: %w", err)
	case errors.Is(err, context.Canceled):
		return withHint(fmt.Errorf("fetch: %w", err), "run 'larder fetch' again to download the rest")
	}
	var se *fetch.StatusError
	var he *fetch.HashError
	var be *build.Error
	switch {
	case errors.As(err, &be) && be.Python != "":
		why := ""
		if be.MissingWheelPackage() {
			why = be.Python + " has no 'wheel' package; "
		}
		return withHint(fmt.Errorf("fetch: %w", err), "%sthe build ran with %s: set [project] python in larder.toml to an interpreter with setuptools and wheel (e.g. /usr/bin/python3 with python3-setuptools and python3-wheel), or build in the target image with --builder buildkit",
			why, be.Python)
	case errors.As(err, &he):
		return withHint(fmt.Errorf("fetch: %w", err), "the index serves other bytes than the lock recorded: re-run 'larder lock' if the file was replaced upstream")
	case errors.As(err, &se) && (se.Code == 401 || se.Code == 403):
		return withHint(fmt.Errorf("fetch: %w", err), "%s", credentialsHint)
	case errors.As(err, &se) && se.Code == 404:
		return withHint(fmt.Errorf("fetch: %w", err), "the file is gone from the index: re-run 'larder lock'")
	}
	return fmt.Errorf("fetch: %w", err)
}

// inputGitURLs are the git sources' URLs of the inputs larder.toml
// names, credentials and all, when the lock has a git package: a lock
// records a git URL without its user and token, which come back from
// the same requirement or pyproject.toml it was locked from. Inputs that
// cannot be read give none and an error to warn with (a lock may be
// fetched without them): git's own credential helpers and netrc still
// apply.
func inputGitURLs(ctx context.Context, g *globals, lock *pylock.Lock) ([]string, error) {
	if !slices.ContainsFunc(lock.Packages, func(p pylock.Package) bool { return p.VCS != nil }) {
		return nil, nil
	}
	var reqs, cons []string
	for _, r := range g.cfg.Project.Requirements {
		reqs = append(reqs, g.cfg.Path(r))
	}
	for _, c := range g.cfg.Project.Constraints {
		cons = append(cons, g.cfg.Path(c))
	}
	in, err := resolver.ReadInputsContext(ctx, reqs, cons, resolver.InputOptions{IgnoreMissing: true, Extras: g.cfg.Project.Extras, Groups: g.cfg.Project.Groups})
	if err != nil {
		return nil, fmt.Errorf("reading the project's inputs for their git credentials: %w", err)
	}
	var urls []string
	for _, list := range [][]resolver.Requirement{in.Requirements, in.Constraints} {
		for _, r := range list {
			if r.VCS != nil {
				urls = append(urls, r.VCS.URL)
			}
		}
	}
	return urls, nil
}

// buildkitBuilder builds wheels in [image] base on a BuildKit daemon,
// with the apt packages of [build.NAME].
func buildkitBuilder(g *globals, o *fetchOptions, cacheDir string, log io.Writer) (*buildkit.WheelBuilder, error) {
	base := g.cfg.Image.Base
	if base == "" || base == images.Scratch {
		return nil, usageError{errors.New("fetch: --builder buildkit builds in [image] base: set it to the image the wheels will be installed in")}
	}
	if strings.HasPrefix(base, images.OCI+":") || strings.HasPrefix(base, images.DockerArchive+":") {
		r, err := images.ParseRef(base, false)
		if err != nil {
			return nil, usageError{fmt.Errorf("fetch: [image] base: %w", err)}
		}
		base = r.Transport + ":" + g.cfg.Path(r.Path) + tagSuffix(r.Tag)
	}
	b := &buildkit.WheelBuilder{Addr: buildkit.Addr(o.addr), Base: base, Apt: map[string][]string{}, GitCacheDir: cacheDir}
	for name, bc := range g.cfg.Build {
		b.Apt[dist.NormalizeName(name)] = bc.Apt
	}
	if g.verbose {
		b.Progress = log
	}
	return b, nil
}

// fetchProgress turns fetch events into a status line (and, with -v, a
// line per file).
type fetchProgress struct {
	start   time.Time
	files   int
	total   int64
	verbose io.Writer

	mu         sync.Mutex
	done       int
	bytes      map[string]int64
	downloaded map[string]int64 // what came over the network: the rate's bytes
	building   map[string]bool
}

func newFetchProgress(l *pylock.Lock, w io.Writer, verbose bool) *fetchProgress {
	p := &fetchProgress{start: time.Now(), bytes: map[string]int64{}, downloaded: map[string]int64{}, building: map[string]bool{}}
	for _, pkg := range l.Packages {
		for _, f := range pkg.Wheels {
			p.files++
			p.total += f.Size
		}
		if pkg.Sdist != nil {
			p.files++
			p.total += pkg.Sdist.Size
		}
	}
	if verbose {
		p.verbose = w
	}
	return p
}

func (p *fetchProgress) event(e fetch.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := e.File
	if e.Via == fetch.ViaBuild {
		key = e.Project + " for " + e.Target
	}
	switch e.State {
	case fetch.Started:
		if e.Via == fetch.ViaBuild {
			p.building[key] = true
		}
	case fetch.Progress:
		p.bytes[key] = e.Bytes
		if e.Via == fetch.ViaDownload {
			p.downloaded[key] = e.Bytes
		}
	case fetch.Done, fetch.Skipped:
		if e.Via == fetch.ViaBuild {
			delete(p.building, key)
		} else if e.Target == "" {
			p.bytes[key] = e.Bytes
			if e.Via == fetch.ViaDownload {
				p.downloaded[key] = e.Bytes
			}
			p.done++
		}
		if p.verbose != nil {
			fmt.Fprintf(p.verbose, "  %-8s %s (%s)\n", e.Via, e.File, bytesize.Format(e.Bytes))
		}
	case fetch.Failed:
		delete(p.building, key)
		if p.verbose != nil {
			fmt.Fprintf(p.verbose, "  failed   %s: %v\n", e.File, e.Err)
		}
	}
}

func (p *fetchProgress) line() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var got, down int64
	for _, n := range p.bytes {
		got += n
	}
	for _, n := range p.downloaded {
		down += n
	}
	s := fmt.Sprintf("fetching: %d/%d files, %s of %s", p.done, p.files, bytesize.Format(got), bytesize.Format(p.total))
	// The rate is the network's: files already present or linked from the
	// cache cost no download.
	if secs := time.Since(p.start).Seconds(); secs > 0.5 && down > 0 {
		s += fmt.Sprintf(", downloading %s/s", bytesize.Format(int64(float64(down)/secs)))
	}
	if n := len(p.building); n > 0 {
		for k := range p.building {
			s += ", building " + k
			break
		}
		if n > 1 {
			s += fmt.Sprintf(" and %d more", n-1)
		}
	}
	return s
}

// writeText says what the fetch did, file counts first.
func (s *fetchSummary) writeText(w io.Writer) {
	r := s.Report
	fmt.Fprintf(w, "fetched %d files of %s into %s in %.1fs\n", r.Files, s.Lock, s.Wheelhouse, r.Seconds)
	fmt.Fprintf(w, "  %d downloaded (%s), %d from the cache, %d already present", r.Downloaded, bytesize.Format(r.Bytes), r.Linked, r.Present)
	if r.Adopted > 0 {
		fmt.Fprintf(w, " (%d adopted)", r.Adopted)
	}
	if r.FromCache > 0 || r.Pushed > 0 {
		fmt.Fprintf(w, ", %d from the shared cache, %d pushed to it", r.FromCache, r.Pushed)
	}
	fmt.Fprintf(w, ", %d built", r.Built)
	if r.Retries > 0 {
		fmt.Fprintf(w, ", %d retries", r.Retries)
	}
	fmt.Fprintln(w)
	for _, n := range r.NeedsBuilder {
		fmt.Fprintf(w, "  needs a builder: %s\n", n)
	}
	for _, wn := range r.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", escapeControls(wn))
	}
}
