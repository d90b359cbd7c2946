package resolver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/pep440"
	"github.com/larder-build/larder/resolver/pep508"
	"github.com/larder-build/larder/resolver/tags"
	"github.com/larder-build/larder/resolver/target"
)

// Index is where the resolver learns about projects: their files and the
// core metadata of a file. *index.Client implements it.
type Index interface {
	Project(ctx context.Context, name string) (*index.Page, error)
	Metadata(ctx context.Context, f index.File) ([]byte, error)
}

// Requirement is a requirement of the project, with where it was written.
type Requirement struct {
	pep508.Requirement
	// Source is "file:line", for messages.
	Source string
	// Hashes are --hash pins ("sha256:hex"): the chosen file must match one.
	Hashes []string
	// VCS is set for a requirement on a version control checkout.
	VCS *VCS
}

// Request is what to resolve.
type Request struct {
	Requirements []Requirement
	Constraints  []Requirement
	Targets      []target.Target
	// Pre allows pre-releases everywhere (pip's --pre).
	Pre bool
	// OnlyBinary and NoBinary name projects (normalized) or ":all:".
	OnlyBinary []string
	NoBinary   []string
	// Verify treats the requirements as a complete closure (pip-compile
	// output, a lock): a dependency that is not among them is an error.
	Verify bool
	// Private are name globs that must never come from a public index;
	// every VCS requirement is private too.
	Private []string
	// Python runs PEP 517 hooks for forks whose metadata is not static.
	Python string
	// CacheDir holds git checkouts of VCS requirements.
	CacheDir string
}

// Result is a resolution for every target.
type Result struct {
	Targets  []target.Target
	Packages []*Package // sorted by name, then version
}

// Package is one version of one project in the closure of some targets.
type Package struct {
	Name    string // normalized
	Version pep440.Version
	Index   string
	// Targets lists indexes into Result.Targets that install this package.
	Targets []int
	// Files are the files some target installs: per target, its best file.
	Files map[int]index.File
	// Deps are the names (normalized) this package depends on, per target.
	Deps map[int][]string
	// Build reports that some target has only an sdist to build.
	Build bool
	// Roots reports whether the project requires it directly, per target.
	Root map[int]bool
	// VCS is set for a package built from a version control checkout.
	VCS *VCS
	// Private marks a package that must never come from a public index.
	Private bool
	// Unpinned marks a package that fully pinned inputs (Request.Verify)
	// left out but that some pinned package requires, and that the
	// resolver therefore chose: only pip-compile's "unsafe" packages
	// (see IsUnsafe) may be missing that way.
	Unpinned bool
}

// unsafePackages are the names pip-compile leaves out of its output
// unless given --allow-unsafe (pip, setuptools, distribute), and wheel,
// which plays the same build-tool role and is left out for the same
// reason by tools that copy pip-compile's rule. Installing such a file
// with pip resolves them anyway; so does a verifying lock.
var unsafePackages = map[string]bool{"pip": true, "setuptools": true, "distribute": true, "wheel": true}

// IsUnsafe reports whether a normalized project name is one of the
// packages that pinned inputs may leave out: pip, setuptools,
// distribute and wheel.
func IsUnsafe(name string) bool {
	return unsafePackages[name]
}

// Progress receives events while resolving; it may be nil.
type Progress func(Event)

// Event is a step of a resolution, for progress display.
type Event struct {
	Target  string
	Package string
	Version string
}

// Resolve finds, for every target, the newest versions that satisfy the
// requirements, their dependencies (markers evaluated for the target) and
// the constraints.
func Resolve(ctx context.Context, ix Index, req Request, progress Progress) (*Result, error) {
	if len(req.Targets) == 0 {
		return nil, errors.New("no target to resolve for")
	}
	sh := &shared{ix: ix, meta: map[string]*metaResult{}, warmCtx: ctx, warmed: map[string]bool{}, cons: map[string]pep440.Specifiers{},
		limit: parallelOf(ix), required: map[string]bool{}}
	// Warming is shared by every target, so it may narrow its guesses only
	// by the constraints that hold for all of them: one whose marker
	// holds for some target only (or none) would send the others' warming
	// to versions they never choose.
	for _, c := range req.Constraints {
		if c.Marker != nil && !holdsForAll(c.Marker, req.Targets) {
			continue
		}
		sh.cons[c.NormalizedName()] = sh.cons[c.NormalizedName()].And(c.Specifiers)
	}
	// Warming starts nothing new once the resolution ends, and what is in
	// flight is waited for: nothing writes to the cache after Resolve
	// returns, and nothing half-fetched is fetched again next time.
	defer sh.warming.Wait()
	defer sh.stopWarming()
	// A fork's name is never looked up on an index, not even to warm up.
	for _, r := range req.Requirements {
		if r.VCS != nil || r.URL != "" {
			sh.warmed[r.NormalizedName()] = true
		}
	}
	for _, r := range req.Requirements {
		if r.VCS == nil && r.URL == "" && r.Marker == nil {
			sh.required[r.NormalizedName()] = true
		}
	}
	for _, r := range req.Requirements {
		if r.VCS == nil && r.URL == "" {
			sh.warm(r.NormalizedName(), r.Specifiers)
		}
	}
	results := make([]map[string]*resolved, len(req.Targets))
	g, gctx := errgroup.WithContext(ctx)
	for i, t := range req.Targets {
		g.Go(func() error {
			p, err := newTargetProblem(sh, req, t, progress)
			if err != nil {
				return err
			}
			r, err := p.run(gctx)
			if err != nil {
				if len(req.Targets) > 1 {
					return fmt.Errorf("resolving for %s: %w", t, err)
				}
				return err
			}
			results[i] = r
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	res := merge(req.Targets, results)
	for _, p := range res.Packages {
		p.Private = p.VCS != nil || matchesAny(req.Private, p.Name)
	}
	return res, nil
}

// holdsForAll reports whether a marker holds in every target's
// environment.
func holdsForAll(m *pep508.Marker, targets []target.Target) bool {
	for _, t := range targets {
		if !m.Evaluate(pep508.EnvironmentFor(t)) {
			return false
		}
	}
	return true
}

// matchesAny reports whether a normalized name matches one of the globs.
func matchesAny(globs []string, name string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(dist.NormalizeName(g), name); ok {
			return true
		}
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}

// resolved is one package chosen for one target.
type resolved struct {
	name  string
	cand  *candidate
	index string
	deps  []string
	root  bool
	// unpinned: the inputs pinned everything else but left this out.
	unpinned bool
}

func merge(targets []target.Target, results []map[string]*resolved) *Result {
	byKey := map[string]*Package{}
	for ti, r := range results {
		for _, x := range r {
			key := x.name + "==" + x.cand.version.String()
			p, ok := byKey[key]
			if !ok {
				p = &Package{Name: x.name, Version: x.cand.version, Index: x.index,
					Files: map[int]index.File{}, Deps: map[int][]string{}, Root: map[int]bool{}}
				byKey[key] = p
			}
			p.Targets = append(p.Targets, ti)
			p.Files[ti] = x.cand.best()
			p.Deps[ti] = x.deps
			p.Root[ti] = x.root
			p.Build = p.Build || x.cand.buildsFromSource()
			p.VCS = x.cand.vcs
			p.Unpinned = p.Unpinned || x.unpinned
		}
	}
	out := &Result{Targets: targets}
	for _, p := range byKey {
		sort.Ints(p.Targets)
		out.Packages = append(out.Packages, p)
	}
	sort.Slice(out.Packages, func(i, j int) bool {
		a, b := out.Packages[i], out.Packages[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Version.Compare(b.Version) < 0
	})
	return out
}

// shared is what the targets of one resolution share: the index and
// parsed metadata, fetched once whatever the number of targets.
type shared struct {
	ix Index

	mu   sync.Mutex
	meta map[string]*metaResult // file URL -> metadata

	warmCtx context.Context
	warmed  map[string]bool // project names being warmed
	warming sync.WaitGroup
	stopped bool
	cons    map[string]pep440.Specifiers
	// Warming is a queue drained by at most limit workers, the index's
	// own bound on requests in flight: a hundred thousand names cost a
	// queue entry each, not a goroutine each.
	limit     int
	warmQueue []warmJob
	workers   int
	// required are the names every target needs (roots without a
	// marker): one of them missing ends the resolution, so it ends the
	// warming too instead of asking about every other name.
	required map[string]bool

	vcsMu sync.Mutex
	vcs   map[string]*vcsResult // "url@rev#subdir" -> resolution
}

type vcsResult struct {
	once sync.Once
	v    VCS
	md   *dist.Metadata
	raw  []byte
	err  error
}

// resolveVCS pins and reads a VCS requirement once for all targets.
func (sh *shared) resolveVCS(ctx context.Context, req Request, v *VCS) (*vcsResult, error) {
	key := v.URL + "@" + v.Rev + "#" + v.Subdirectory
	sh.vcsMu.Lock()
	if sh.vcs == nil {
		sh.vcs = map[string]*vcsResult{}
	}
	r, ok := sh.vcs[key]
	if !ok {
		r = &vcsResult{v: *v}
		sh.vcs[key] = r
	}
	sh.vcsMu.Unlock()
	r.once.Do(func() {
		python := req.Python
		if python == "" {
			python = "python3"
		}
		r.md, r.raw, r.err = resolveVCS(ctx, req.CacheDir, python, &r.v)
		if r.err == nil {
			// Never ask an index about a fork's name, not even to warm up.
			sh.mu.Lock()
			sh.warmed[dist.NormalizeName(r.md.Name)] = true
			sh.mu.Unlock()
		}
	})
	return r, r.err
}

func (sh *shared) stopWarming() {
	sh.mu.Lock()
	sh.stopped = true
	sh.mu.Unlock()
}

type metaResult struct {
	done chan struct{}
	md   *dist.Metadata
	err  error
}

// metadata returns the parsed metadata of a file, fetching it once.
func (sh *shared) metadata(ctx context.Context, f index.File) (*dist.Metadata, error) {
	sh.mu.Lock()
	r, ok := sh.meta[f.URL]
	if !ok {
		r = &metaResult{done: make(chan struct{})}
		sh.meta[f.URL] = r
		sh.mu.Unlock()
		raw, err := sh.ix.Metadata(ctx, f)
		if err == nil {
			r.md, err = dist.ParseMetadata(bytes.NewReader(raw))
		}
		r.err = err
		close(r.done)
	} else {
		sh.mu.Unlock()
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return r.md, r.err
}

// targetProblem is the resolution problem of one target.
type targetProblem struct {
	sh       *shared
	req      Request
	t        target.Target
	env      pep508.Environment
	ranker   *tags.Ranker
	policy   binaryPolicy
	hashes   map[string]map[string]bool
	cons     map[string][]Requirement
	listings map[string]*listing
	progress Progress
	roots    map[string]bool
	deps     map[string][]string // chosen "name==version" -> dependency names
}

func newTargetProblem(sh *shared, req Request, t target.Target, progress Progress) (*targetProblem, error) {
	p := &targetProblem{
		sh: sh, req: req, t: t,
		env:      pep508.EnvironmentFor(t),
		ranker:   tags.NewRanker(t),
		policy:   binaryPolicy{onlyBinary: set(req.OnlyBinary), noBinary: set(req.NoBinary)},
		hashes:   map[string]map[string]bool{},
		cons:     map[string][]Requirement{},
		listings: map[string]*listing{},
		progress: progress,
		roots:    map[string]bool{},
		deps:     map[string][]string{},
	}
	for _, r := range req.Requirements {
		if len(r.Hashes) == 0 {
			continue
		}
		name := r.NormalizedName()
		if p.hashes[name] == nil {
			p.hashes[name] = map[string]bool{}
		}
		for _, h := range r.Hashes {
			alg, digest, ok := strings.Cut(h, ":")
			if !ok || alg != "sha256" {
				return nil, fmt.Errorf("%s: hash %q: only sha256 hashes are supported", r.Source, h)
			}
			p.hashes[name][strings.ToLower(digest)] = true
		}
	}
	for _, c := range req.Constraints {
		if c.Marker != nil && !c.Marker.Evaluate(p.env) {
			continue
		}
		p.cons[c.NormalizedName()] = append(p.cons[c.NormalizedName()], c)
	}
	return p, nil
}

func set(names []string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		if n != ":all:" && n != ":none:" {
			n = dist.NormalizeName(n)
		}
		m[n] = true
	}
	return m
}

// pkgName splits "name[extra]" into its parts.
func pkgName(pkg string) (name, extra string) {
	if i := strings.IndexByte(pkg, '['); i >= 0 {
		return pkg[:i], pkg[i+1 : len(pkg)-1]
	}
	return pkg, ""
}

func (p *targetProblem) run(ctx context.Context) (map[string]*resolved, error) {
	// The roots' pages are fetched in parallel before the sequential walk;
	// those of roots whose marker excludes this target are never needed.
	var names []string
	for _, r := range p.req.Requirements {
		if r.VCS == nil && r.URL == "" && (r.Marker == nil || r.Marker.Evaluate(p.env)) {
			names = append(names, r.NormalizedName())
		}
	}
	p.fetchNames(ctx, names, true)
	var rootDeps []dependency
	for _, r := range p.req.Requirements {
		if r.Marker != nil && !r.Marker.Evaluate(p.env) {
			continue
		}
		if r.VCS != nil {
			if err := p.addVCS(ctx, r); err != nil {
				return nil, err
			}
		} else if r.URL != "" {
			return nil, fmt.Errorf("%s: %s: direct URL requirements other than git are not supported yet", r.Source, r.String())
		}
		ds, err := p.toDeps(ctx, r.Requirement, r.Source)
		if err != nil {
			return nil, err
		}
		rootDeps = append(rootDeps, ds...)
		p.roots[r.NormalizedName()] = true
	}
	sol, err := solve(ctx, p, rootDeps)
	if err != nil {
		return nil, err
	}
	out := map[string]*resolved{}
	var unpinned map[string]bool
	if p.req.Verify {
		if unpinned, err = p.verifyClosed(sol); err != nil {
			return nil, err
		}
	}
	for pkg, i := range sol {
		name, extra := pkgName(pkg)
		if extra != "" {
			continue
		}
		l := p.listings[name]
		c := &l.cands[i]
		out[name] = &resolved{name: name, cand: c, index: l.index, root: p.roots[name],
			deps: p.deps[name+"=="+c.version.String()], unpinned: unpinned[name]}
	}
	return out, nil
}

// addVCS makes a VCS requirement the only candidate of its project: a
// direct reference overrides every index, which also means a same-named
// upload on a public index can never replace a fork.
func (p *targetProblem) addVCS(ctx context.Context, r Requirement) error {
	res, err := p.sh.resolveVCS(ctx, p.req, r.VCS)
	if err != nil {
		return fmt.Errorf("%s: %w", r.Source, err)
	}
	name := r.NormalizedName()
	if got := dist.NormalizeName(res.md.Name); got != name {
		return fmt.Errorf("%s: %s builds project %q, not %q", r.Source, r.VCS.URL, res.md.Name, r.Name)
	}
	v, err := pep440.Parse(res.md.Version)
	if err != nil {
		return fmt.Errorf("%s: %s: version %q: %w", r.Source, r.VCS.URL, res.md.Version, err)
	}
	vcs := res.v
	f := index.File{Filename: name + "-" + v.String() + " (" + vcs.String() + ")", URL: vcs.String(), Size: -1}
	p.sh.mu.Lock()
	p.sh.meta[f.URL] = &metaResult{done: closed(), md: res.md}
	p.sh.mu.Unlock()
	p.listings[name] = &listing{
		name: name, index: "", versions: []string{v.String()}, pref: []int{0},
		cands: []candidate{{version: v, files: []index.File{f}, vcs: &vcs}},
	}
	return nil
}

func closed() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// toDeps turns a requirement into dependencies: on the project, and on
// name[extra] for every extra, which depends on the project itself.
func (p *targetProblem) toDeps(ctx context.Context, r pep508.Requirement, source string) ([]dependency, error) {
	name := r.NormalizedName()
	l, err := p.listing(ctx, name)
	if err != nil {
		if source != "" {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		return nil, err
	}
	s := l.specSet(r.Specifiers, p.req.Pre)
	text := name + r.Specifiers.String()
	if s.isEmpty() {
		where := "the project requires"
		if source != "" {
			where = source + " requires"
		}
		return nil, &unusableError{fmt.Sprintf("%s %s, but no version matches (%s)", where, text, l.droppedSummary(r.Specifiers))}
	}
	deps := []dependency{{pkg: name, set: s, text: text}}
	for _, e := range r.Extras {
		deps = append(deps, dependency{pkg: name + "[" + e + "]", set: s, text: name + "[" + e + "]" + r.Specifiers.String()})
	}
	return deps, nil
}

// listing fetches and filters a project's page once per target.
func (p *targetProblem) listing(ctx context.Context, name string) (*listing, error) {
	if l, ok := p.listings[name]; ok {
		return l, nil
	}
	page, err := p.sh.ix.Project(ctx, name)
	if err != nil {
		var nf *index.NotFoundError
		if errors.As(err, &nf) && len(nf.Suggestions) == 0 {
			nf.Suggestions = p.sh.suggest(ctx, name)
		}
		return nil, err
	}
	l := newListing(page, name, p.t, p.ranker, p.policy, p.hashes[name])
	p.listings[name] = l
	p.sh.warmCandidates(l)
	return l, nil
}

func (p *targetProblem) candidates(ctx context.Context, pkg string) (int, []int, error) {
	name, _ := pkgName(pkg)
	l, err := p.listing(ctx, name)
	if err != nil {
		return 0, nil, err
	}
	return len(l.cands), l.pref, nil
}

func (p *targetProblem) constraint(pkg string) (vset, string, bool) {
	name, extra := pkgName(pkg)
	cs := p.cons[name]
	if extra != "" || len(cs) == 0 {
		return vset{}, "", false
	}
	l := p.listings[name]
	s := fullSet(len(l.cands))
	var texts []string
	for _, c := range cs {
		s = s.and(l.specSet(c.Specifiers, true))
		texts = append(texts, name+c.Specifiers.String()+" ("+c.Source+")")
	}
	return s, strings.Join(texts, " and "), true
}

func (p *targetProblem) describe(pkg string, s vset) string {
	name, _ := pkgName(pkg)
	return describeSet(pkg, p.listings[name].versions, s)
}

func (p *targetProblem) versionString(pkg string, i int) string {
	name, _ := pkgName(pkg)
	return p.listings[name].versions[i]
}

func (p *targetProblem) dependencies(ctx context.Context, pkg string, i int) ([]dependency, error) {
	name, extra := pkgName(pkg)
	l := p.listings[name]
	c := &l.cands[i]
	if p.progress != nil && extra == "" {
		p.progress(Event{Target: p.t.String(), Package: name, Version: c.version.String()})
	}
	f := c.best()
	md, err := p.sh.metadata(ctx, f)
	if err != nil {
		var hm *index.HashMismatchError
		if errors.As(err, &hm) || ctx.Err() != nil {
			return nil, err
		}
		var se *index.StatusError
		if errors.As(err, &se) && se.Code >= 500 {
			return nil, err
		}
		return nil, &unusableError{fmt.Sprintf("reading the metadata of %s: %v", f.Filename, err)}
	}
	if dist.NormalizeName(md.Name) != name {
		return nil, &unusableError{fmt.Sprintf("%s: metadata names project %q", f.Filename, md.Name)}
	}
	if v, err := pep440.Parse(md.Version); err != nil || !v.Equal(c.version) {
		return nil, &unusableError{fmt.Sprintf("%s: metadata says version %q", f.Filename, md.Version)}
	}
	if md.RequiresPython != "" {
		rp, err := pep440.ParseSpecifiers(md.RequiresPython)
		if err != nil {
			return nil, &unusableError{fmt.Sprintf("%s: Requires-Python %q: %v", f.Filename, md.RequiresPython, err)}
		}
		if !rp.Contains(pep440.MustParse(p.t.Python.Full()), true) {
			return nil, &unusableError{fmt.Sprintf("requires Python %s", md.RequiresPython)}
		}
	}
	env := p.env
	if extra != "" {
		env = env.WithExtra(extra)
	}
	var out []dependency
	if extra != "" {
		out = append(out, dependency{pkg: name, set: singleSet(len(l.cands), i), text: name + "==" + c.version.String()})
	}
	// Parse and filter once; then fetch the pages of what applies in
	// parallel, then walk it.
	var applicable []pep508.Requirement
	for _, line := range md.RequiresDist {
		r, err := pep508.ParseRequirement(line)
		if err != nil {
			return nil, &unusableError{fmt.Sprintf("%s: Requires-Dist %q: %v", f.Filename, line, err)}
		}
		if r.Marker != nil && !r.Marker.Evaluate(env) {
			continue
		}
		if extra != "" && (r.Marker == nil || !mentionsExtra(r.Marker, extra)) {
			continue // the base package brings the unconditional ones
		}
		if r.URL != "" {
			return nil, &unusableError{fmt.Sprintf("%s depends on a direct URL (%s), which an index package may not", f.Filename, line)}
		}
		applicable = append(applicable, r)
	}
	p.fetchPages(ctx, applicable)
	var names []string
	for _, r := range applicable {
		ds, err := p.toDeps(ctx, r, "")
		var unusable *unusableError
		if errors.As(err, &unusable) {
			return nil, &unusableError{fmt.Sprintf("it depends on %s%s, for which no version matches", r.NormalizedName(), r.Specifiers.String())}
		}
		var nf *index.NotFoundError
		if errors.As(err, &nf) {
			return nil, &unusableError{fmt.Sprintf("it depends on %s, which no index has", r.NormalizedName())}
		}
		if err != nil {
			return nil, err
		}
		out = append(out, ds...)
		names = append(names, r.NormalizedName())
	}
	if extra == "" {
		p.deps[name+"=="+c.version.String()] = names
	}
	return out, nil
}

func mentionsExtra(m *pep508.Marker, extra string) bool {
	for _, e := range m.Extras() {
		if e == extra {
			return true
		}
	}
	return false
}

// warm fetches, in the background, the page of a project and the
// metadata of the newest version that a specifier admits, then does the
// same for that version's dependencies. It guesses (markers are ignored,
// any wheel counts), but a right guess means the sequential search finds
// what it needs already in memory, and a wrong one costs only a request.
func (sh *shared) warm(name string, ss pep440.Specifiers) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.warmed[name] || sh.stopped {
		return
	}
	sh.warmed[name] = true
	sh.warmQueue = append(sh.warmQueue, warmJob{name: name, ss: ss.And(sh.cons[name])})
	if sh.workers < sh.limit {
		sh.workers++
		sh.warming.Add(1)
		go sh.warmWorker()
	}
}

// warmJob is a project to warm and the versions that may be chosen.
type warmJob struct {
	name string
	ss   pep440.Specifiers
}

// warmWorker warms queued projects until the queue is empty or warming
// stops.
func (sh *shared) warmWorker() {
	defer sh.warming.Done()
	for {
		sh.mu.Lock()
		if sh.stopped || len(sh.warmQueue) == 0 || sh.warmCtx.Err() != nil {
			sh.workers--
			sh.mu.Unlock()
			return
		}
		job := sh.warmQueue[0]
		sh.warmQueue = sh.warmQueue[1:]
		sh.mu.Unlock()
		sh.warmOne(job)
	}
}

func (sh *shared) warmOne(job warmJob) {
	ctx := sh.warmCtx
	page, err := sh.ix.Project(ctx, job.name)
	var nf *index.NotFoundError
	if errors.As(err, &nf) && sh.required[job.name] {
		sh.mu.Lock()
		sh.stopped = true
		sh.warmQueue = nil
		sh.mu.Unlock()
	}
	if err != nil {
		return
	}
	f, ok := newestWheel(page, job.name, job.ss)
	if !ok {
		return
	}
	md, err := sh.metadata(ctx, f)
	if err != nil {
		return
	}
	for _, line := range md.RequiresDist {
		r, err := pep508.ParseRequirement(line)
		if err != nil || r.URL != "" || (r.Marker != nil && len(r.Marker.Extras()) > 0) {
			continue
		}
		sh.warm(r.NormalizedName(), r.Specifiers)
	}
}

// parallelIndex is an index that says how many requests it has in flight
// at most.
type parallelIndex interface {
	Parallel() int
}

// defaultParallel bounds background work for an index that does not say.
const defaultParallel = 16

func parallelOf(ix Index) int {
	if p, ok := ix.(parallelIndex); ok && p.Parallel() > 0 {
		return p.Parallel()
	}
	return defaultParallel
}

// speculate is how many of a project's most preferred versions have their
// metadata fetched ahead: a newer version that turns out unusable is the
// common reason to look at the next one.
const speculate = 4

// warmCandidates fetches, in the background, the metadata of a listing's
// first few candidates.
func (sh *shared) warmCandidates(l *listing) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.stopped {
		return
	}
	for k, i := range l.pref {
		if k == speculate {
			break
		}
		c := &l.cands[i]
		if c.vcs != nil || c.buildsFromSource() {
			continue
		}
		f := c.best()
		if _, ok := sh.meta[f.URL]; ok {
			continue
		}
		sh.warming.Add(1)
		go func() {
			defer sh.warming.Done()
			sh.metadata(sh.warmCtx, f) //nolint:errcheck // a warm-up; errors surface when used
		}()
	}
}

// newestWheel guesses the file a resolution would look at first.
func newestWheel(page *index.Page, name string, ss pep440.Specifiers) (index.File, bool) {
	var best index.File
	var bestV pep440.Version
	found := false
	for _, f := range page.Files {
		if f.Yanked || !strings.HasSuffix(f.Filename, ".whl") {
			continue
		}
		w, err := dist.ParseWheelName(f.Filename)
		if err != nil || dist.NormalizeName(w.Name) != name {
			continue
		}
		v, err := pep440.Parse(w.Version)
		if err != nil || v.IsPrerelease() || !ss.Contains(v, false) {
			continue
		}
		if !found || v.Compare(bestV) > 0 {
			best, bestV, found = f, v, true
		}
	}
	return best, found
}

// fetchPages fetches the pages of a version's dependencies in parallel;
// the index client keeps them, so the sequential walk that follows finds
// them in memory.
func (p *targetProblem) fetchPages(ctx context.Context, reqs []pep508.Requirement) {
	names := make([]string, 0, len(reqs))
	for _, r := range reqs {
		p.sh.warm(r.NormalizedName(), r.Specifiers)
		names = append(names, r.NormalizedName())
	}
	p.fetchNames(ctx, names, false)
}

// fetchNames fetches pages, at most the index's limit at once, so that the
// walk that follows finds them in memory. With stopAtMissing (every name
// is required), the first name the index lacks stops it: the walk fails
// on that name anyway, and asking about the rest costs requests only.
func (p *targetProblem) fetchNames(ctx context.Context, names []string, stopAtMissing bool) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var g errgroup.Group
	g.SetLimit(p.sh.limit)
	for _, name := range names {
		if _, ok := p.listings[name]; ok {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			_, err := p.sh.ix.Project(ctx, name)
			var nf *index.NotFoundError
			if stopAtMissing && errors.As(err, &nf) {
				cancel()
			}
			return nil // errors surface in the walk
		})
	}
	_ = g.Wait() // the goroutines return no error
}

// verifyClosed checks that every package of the solution was pinned by
// the inputs, and names the chain that pulls in the first one that was
// not. The unsafe packages (IsUnsafe) are the exception: pip-compile
// leaves them out on purpose and pip installs them anyway, so their
// resolved versions are kept and returned, for the caller to report.
func (p *targetProblem) verifyClosed(sol map[string]int) (map[string]bool, error) {
	var missing []string
	unpinned := map[string]bool{}
	for pkg := range sol {
		if name, extra := pkgName(pkg); extra == "" && !p.roots[name] {
			if IsUnsafe(name) {
				unpinned[name] = true
				continue
			}
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return unpinned, nil
	}
	sort.Strings(missing)
	version := func(name string) string {
		return name + "==" + p.listings[name].versions[sol[name]]
	}
	// Breadth first from the roots through the chosen versions.
	prev := map[string]string{}
	var queue []string
	for name := range p.roots {
		if _, ok := sol[name]; ok {
			prev[name] = ""
			queue = append(queue, name)
		}
	}
	sort.Strings(queue)
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, d := range p.deps[version(n)] {
			if _, seen := prev[d]; !seen {
				prev[d] = n
				queue = append(queue, d)
			}
		}
	}
	var chain []string
	for n := missing[0]; n != ""; n = prev[n] {
		chain = append([]string{version(n)}, chain...)
	}
	more := ""
	if len(missing) > 1 {
		more = fmt.Sprintf(" (and %d more: %s)", len(missing)-1, strings.Join(missing[1:], ", "))
	}
	return nil, fmt.Errorf("the inputs pin every version but miss %s%s, required through %s; "+
		"they are not a complete closure: regenerate them (pip-compile) or add the pin",
		version(missing[0]), more, strings.Join(chain, " -> "))
}

// projectNamer is an index that can list its projects.
type projectNamer interface {
	ProjectNames(ctx context.Context) ([]string, error)
}

// suggest finds names close to an unknown one, when the index can list
// its projects; any failure just means no suggestion.
func (sh *shared) suggest(ctx context.Context, name string) []string {
	pn, ok := sh.ix.(projectNamer)
	if !ok {
		return nil
	}
	names, err := pn.ProjectNames(ctx)
	if err != nil {
		return nil
	}
	norm := make([]string, 0, len(names))
	for _, n := range names {
		norm = append(norm, dist.NormalizeName(n))
	}
	return Closest(dist.NormalizeName(name), norm, 3)
}
