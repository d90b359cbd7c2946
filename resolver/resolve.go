package resolver

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"golang.org/x/sync/errgroup"

	"github.com/larder-build/larder/resolver/distname"
	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/pep440"
	"github.com/larder-build/larder/resolver/pep508"
	"github.com/larder-build/larder/resolver/target"
)

// Resolve finds, for every target, the newest versions that satisfy the
// requirements, their dependencies (markers evaluated for the target) and
// the constraints. WithProgress hears of each version examined (and of a
// re-lock's search starting over, Event.Restart).
func Resolve(ctx context.Context, ix Index, req Request, opts ...Option) (*Result, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("resolving: %w", err)
	}
	if len(req.Targets) == 0 {
		return nil, errors.New("no target to resolve for")
	}
	// A re-lock searches the cached pages while they are revalidated,
	// and searches again only if one of them changed: progress then
	// hears that the versions it heard of no longer count.
	search, stop := context.WithCancel(ctx)
	defer stop()
	if sf := newStaleFirst(ctx, ix, req.Previous, stop); sf != nil {
		res, err := resolve(search, sf, req, o.progress)
		if sf.settle() {
			return res, err
		}
		if o.progress != nil {
			o.progress(Event{Restart: true})
		}
	}
	return resolve(ctx, ix, req, o.progress)
}

// resolve is Resolve against ix.
func resolve(ctx context.Context, ix Index, req Request, progress Progress) (*Result, error) {
	ovr, err := newOverrides(req.Overrides, req.Excludes)
	if err != nil {
		return nil, err
	}
	static, err := newStaticIndex(req.StaticMetadata)
	if err != nil {
		return nil, err
	}
	sh := newShared(ctx, ix, req.Targets)
	sh.overrides = ovr
	sh.static = static
	// What the inputs require of a project rules guesses out as any
	// version's requirement does (an overridden one, as its overrides
	// say); the roots are warmed as they are required.
	var needed []Requirement
	for _, r := range req.Requirements {
		if r.VCS != nil || r.URL != "" {
			continue
		}
		xs, ok := ovr.replace(r.Requirement, "", nil)
		if !ok {
			needed = append(needed, r)
			continue
		}
		for _, x := range xs {
			needed = append(needed, Requirement{Requirement: x.Requirement})
		}
	}
	for _, r := range append(append([]Requirement{}, needed...), req.Constraints...) {
		if r.VCS == nil && r.URL == "" && (r.Marker == nil || holdsForAll(r.Marker, req.Targets)) {
			sh.needs[r.NormalizedName()] = append(sh.needs[r.NormalizedName()], need{ss: r.Specifiers})
		}
	}
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
	defer sh.warmers.Wait() //nolint:errcheck // warm-ups return no error
	defer sh.stopWarming()
	// A fork's name is never looked up on an index, not even to warm up.
	for _, r := range req.Requirements {
		if r.VCS != nil || r.URL != "" {
			sh.warmed[r.NormalizedName()] = true
		}
	}
	var rootNames []string
	for _, r := range req.Requirements {
		if r.VCS == nil && r.URL == "" && r.Marker == nil && !ovr.excludesRoot(r.NormalizedName()) {
			sh.required[r.NormalizedName()] = true
		}
		rootNames = append(rootNames, r.NormalizedName())
	}
	sh.warmPrevious(req.Previous, rootNames)
	for _, r := range needed {
		sh.warm(r.NormalizedName(), r.Specifiers)
	}
	results := make([]map[string]*resolved, len(req.Targets))
	errs := make([]error, len(req.Targets))
	g, gctx := errgroup.WithContext(ctx)
	for i, t := range req.Targets {
		g.Go(func() error {
			p, err := newTargetProblem(sh, req, t, progress)
			if err != nil {
				errs[i] = err
				return err
			}
			r, err := p.run(gctx)
			if err != nil {
				if len(req.Targets) > 1 {
					err = fmt.Errorf("resolving for %s: %w", t, err)
				}
				errs[i] = err
				return err
			}
			results[i] = r
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, causeOf(ctx, err, errs)
	}
	res := merge(req.Targets, results)
	// The server matches private names with the same globs: a name is
	// private to both or to neither.
	private, err := distname.CompileGlobs(req.Private)
	if err != nil {
		return nil, fmt.Errorf("private names: %w", err)
	}
	for _, p := range res.Packages {
		p.Private = p.VCS != nil || private.Match(distname.NormalizeName(p.Name))
	}
	return res, nil
}

// causeOf is the error to report of a resolution whose targets failed:
// first, as errgroup returns it, unless that is a cancellation the
// caller did not ask for (a page one target shared with another that
// failed first, cancelled with it) and another target's error says why.
func causeOf(ctx context.Context, first error, errs []error) error {
	if ctx.Err() != nil || !errors.Is(first, context.Canceled) {
		return first
	}
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return first
}

// newShared returns what the targets of one resolution share, warming
// within ctx.
func newShared(ctx context.Context, ix Index, targets []target.Target) *shared {
	sh := &shared{ix: ix, meta: map[string]*metaResult{}, warmCtx: ctx, warmed: map[string]bool{}, cons: map[string]pep440.Specifiers{},
		limit: parallelOf(ix), required: map[string]bool{}, queued: map[string]bool{},
		pages: map[string]*index.Page{}, versions: map[string][]pep440.Version{}, needs: map[string][]need{},
		parsed: map[string]parsedRequirement{}, specs: map[string]map[string]bool{}, later: map[string][]pep440.Specifiers{},
		guessed: map[string]bool{}}
	sh.warmers.SetLimit(sh.limit)
	for _, t := range targets {
		sh.pythons = append(sh.pythons, pep440.MustParse(t.Python.Full()))
		sh.envs = append(sh.envs, pep508.EnvironmentFor(t))
	}
	return sh
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
