package resolver

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/gitsrc"
	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/pep440"
	"github.com/larder-build/larder/resolver/pep508"
	"github.com/larder-build/larder/resolver/tags"
	"github.com/larder-build/larder/resolver/target"
)

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
	ahead    map[string]*lookahead
	// onDiskSeen caches onDisk's answers by file URL.
	onDiskSeen map[string]bool
}

func newTargetProblem(sh *shared, req Request, t target.Target, progress Progress) (*targetProblem, error) {
	p := &targetProblem{
		sh: sh, req: req, t: t,
		env:        pep508.EnvironmentFor(t),
		ranker:     tags.NewRanker(t),
		policy:     binaryPolicy{onlyBinary: set(req.OnlyBinary), noBinary: set(req.NoBinary)},
		hashes:     map[string]map[string]bool{},
		cons:       map[string][]Requirement{},
		listings:   map[string]*listing{},
		progress:   progress,
		roots:      map[string]bool{},
		deps:       map[string][]string{},
		ahead:      map[string]*lookahead{},
		onDiskSeen: map[string]bool{},
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
	// A requirement with overrides is replaced by them, its marker with
	// theirs (as uv does): the overrides' markers say whether it is one.
	roots := make([][]pep508.Requirement, len(p.req.Requirements))
	var names []string
	for i, r := range p.req.Requirements {
		if r.VCS != nil && p.sh.overrides.excludesRoot(r.NormalizedName()) {
			continue // a fork's source is never overridden, but it may be excluded
		}
		if r.VCS == nil {
			if xs, ok := p.sh.overrides.replace(r.Requirement, "", nil); ok {
				for _, x := range xs {
					if x.applies(p.env, "") {
						roots[i] = append(roots[i], x.Requirement)
						names = append(names, x.NormalizedName())
					}
				}
				continue
			}
		}
		if r.Marker == nil || r.Marker.Evaluate(p.env) {
			roots[i] = []pep508.Requirement{r.Requirement}
			if r.VCS == nil && r.URL == "" {
				names = append(names, r.NormalizedName())
			}
		}
	}
	p.fetchNames(ctx, names, true)
	var rootDeps []dependency
	for i, r := range p.req.Requirements {
		reqs := roots[i]
		if len(reqs) == 0 {
			continue
		}
		if r.VCS != nil {
			if err := p.addVCS(ctx, r); err != nil {
				return nil, err
			}
		} else if r.URL != "" && reqs[0].URL != "" {
			return nil, fmt.Errorf("%s: %s: direct URL requirements other than git are not supported yet", r.Source, r.String())
		}
		for _, x := range reqs {
			ds, err := p.toDeps(ctx, x, r.Source)
			if err != nil {
				return nil, err
			}
			rootDeps = append(rootDeps, ds...)
			p.roots[x.NormalizedName()] = true
		}
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
		return fmt.Errorf("%s: %s builds project %q, not %q", r.Source, gitsrc.WithoutCredentials(r.VCS.URL), res.md.Name, r.Name)
	}
	v, err := pep440.Parse(res.md.Version)
	if err != nil {
		return fmt.Errorf("%s: %s: version %q: %w", r.Source, gitsrc.WithoutCredentials(r.VCS.URL), res.md.Version, err)
	}
	vcs := res.v
	f := index.File{Filename: name + "-" + v.String() + " (" + vcs.String() + ")", URL: vcs.String(), Size: -1}
	p.sh.mu.Lock()
	p.sh.meta[f.URL] = &metaResult{md: res.md}
	p.sh.mu.Unlock()
	p.listings[name] = &listing{
		name: name, index: "", versions: []string{v.String()}, pref: []int{0},
		cands: []candidate{{version: v, files: []index.File{f}, vcs: &vcs}},
	}
	return nil
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
	p.sh.sawPage(name, page)
	if err != nil {
		var nf *index.NotFoundError
		if errors.As(err, &nf) && len(nf.Suggestions) == 0 {
			nf.Suggestions = p.sh.suggest(ctx, name)
		}
		return nil, err
	}
	l := newListing(page, name, p.t, p.ranker, p.policy, p.hashes[name])
	p.listings[name] = l
	return l, nil
}

// lookahead is how far prefetch got for a package: the versions it was
// told the package allows, and whether it found the version the search
// will most likely choose (done) or stopped at one whose metadata it
// has yet to see.
type lookahead struct {
	allowed vset
	done    bool
}

// prefetch fetches in the background the metadata of the versions of pkg
// the search will examine next: the most preferred of those it may still
// choose (what a constraint, a dependency or a learned conflict left of
// the listing), and, while the metadata at hand already shows that
// version will be rejected (a dependency no version matches, or one that
// disagrees with the partial solution), the next one too, up to
// speculate versions. A version rejected that way is found out while its
// successor is fetched, instead of before.
func (p *targetProblem) prefetch(pkg string, allowed vset, changed bool, agrees func(dependency) bool) {
	name, _ := pkgName(pkg)
	la := p.ahead[name]
	if la != nil && !changed && la.done {
		return
	}
	l, ok := p.listings[name]
	if !ok {
		return
	}
	if la == nil {
		la = &lookahead{}
		p.ahead[name] = la
	}
	la.allowed, la.done = allowed, true
	var files []index.File
	for _, i := range l.pref {
		if !allowed.has(i) {
			continue
		}
		c := &l.cands[i]
		if c.buildsFromSource() {
			break // building an sdist on a guess costs more than waiting
		}
		f := c.best()
		files = append(files, f)
		if len(files) == speculate {
			break
		}
		r, ok := p.sh.cachedMetadata(f.URL)
		if !ok {
			// Look again once it is here. Until then the next version is
			// as likely to be examined soon as this one is to be
			// rejected: the first one's successor is fetched blind.
			la.done = false
			if len(files) == 1 && !p.onDisk(f) {
				continue
			}
			break
		}
		if r.err != nil {
			continue
		}
		rejected, known := p.rejects(r.md, name, &c.version, agrees)
		if !known {
			la.done = false
		}
		if !rejected {
			break
		}
	}
	p.sh.prefetchFiles(name, files)
}

// onDisk reports whether the index keeps the metadata of f on disk, so
// that it is at hand as soon as asked for: no reason to fetch the next
// version blind. The answer is kept for the resolution.
func (p *targetProblem) onDisk(f index.File) bool {
	dc, ok := p.sh.ix.(diskCacher)
	if !ok {
		return false
	}
	if v, ok := p.onDiskSeen[f.URL]; ok {
		return v
	}
	v := dc.MetadataCached(f)
	p.onDiskSeen[f.URL] = v
	return v
}

// diskCacher is an index that can tell whether it has a file's metadata
// on disk.
type diskCacher interface {
	MetadataCached(f index.File) bool
}

// rejects reports whether metadata already shows that its version will be
// rejected: a dependency that no version matches, or one that disagrees
// with the partial solution. It consults only pages at hand (known is
// false when one is missing; its fetch is started).
func (p *targetProblem) rejects(md *dist.Metadata, name string, version *pep440.Version, agrees func(dependency) bool) (rejected, known bool) {
	known = true
	// rejectedBy reports whether one requirement rules the version out.
	rejectedBy := func(r pep508.Requirement) bool {
		dep := r.NormalizedName()
		if dep == name {
			return false
		}
		l, ok := p.listings[dep]
		if !ok {
			page := p.sh.seenPage(dep)
			if page == nil {
				p.sh.warm(dep, r.Specifiers)
				known = false
				return false
			}
			l = newListing(page, dep, p.t, p.ranker, p.policy, p.hashes[dep])
			p.listings[dep] = l
		}
		s := l.specSet(r.Specifiers, p.req.Pre)
		return s.isEmpty() || !agrees(dependency{pkg: dep, set: s})
	}
	for _, line := range md.RequiresDist {
		r, err := p.sh.requirement(line)
		if err != nil || r.URL != "" {
			return true, true
		}
		xs, ok := p.sh.overrides.replace(r, name, version)
		if !ok {
			if (r.Marker == nil || r.Marker.Evaluate(p.env)) && rejectedBy(r) {
				return true, true
			}
			continue
		}
		for _, x := range xs {
			if x.applies(p.env, "") && rejectedBy(x.Requirement) {
				return true, true
			}
		}
	}
	return false, known
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
	md, static := p.sh.static.lookup(name, c.version)
	if static {
		// Named in errors below in place of a file.
		f.Filename = "the dependency metadata given for " + name + " " + c.version.String()
	} else {
		var err error
		if md, err = p.fileMetadata(ctx, name, c.version, f); err != nil {
			return nil, err
		}
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
		r, err := p.sh.requirement(line)
		if err != nil {
			return nil, &unusableError{fmt.Sprintf("%s: Requires-Dist %q: %v", f.Filename, line, err)}
		}
		// The base package brings the unconditional ones; an extra's
		// pass, those that name it. Overrides carry no URL.
		xs, ok := p.sh.overrides.replace(r, name, &c.version)
		if !ok {
			if !(replaced{Requirement: r}).applies(env, extra) {
				continue
			}
			if r.URL != "" {
				return nil, &unusableError{fmt.Sprintf("%s depends on a direct URL (%s), which an index package may not", f.Filename, line)}
			}
			applicable = append(applicable, r)
			continue
		}
		for _, x := range xs {
			if x.applies(env, extra) {
				applicable = append(applicable, x.Requirement)
			}
		}
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

// fileMetadata reads the metadata of f, a file of name at version.
func (p *targetProblem) fileMetadata(ctx context.Context, name string, version pep440.Version, f index.File) (*dist.Metadata, error) {
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
	if v, err := pep440.Parse(md.Version); err != nil || !v.Equal(version) {
		return nil, &unusableError{fmt.Sprintf("%s: metadata says version %q", f.Filename, md.Version)}
	}
	return md, nil
}

func mentionsExtra(m *pep508.Marker, extra string) bool {
	for _, e := range m.Extras() {
		if e == extra {
			return true
		}
	}
	return false
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
			page, err := p.sh.ix.Project(ctx, name)
			p.sh.sawPage(name, page)
			var nf *index.NotFoundError
			if stopAtMissing && errors.As(err, &nf) {
				cancel()
			}
			return nil // errors surface in the walk
		})
	}
	_ = g.Wait() // the goroutines return no error
}
