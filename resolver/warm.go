package resolver

import (
	"errors"
	"slices"
	"strings"

	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/pep440"
	"github.com/larder-build/larder/resolver/pep508"
	"github.com/larder-build/larder/resolver/pylock"
)

func (sh *shared) stopWarming() {
	sh.mu.Lock()
	sh.stopped = true
	sh.mu.Unlock()
}

// warm fetches, in the background, the page of a project and the
// metadata of the newest version that a specifier admits, then does the
// same for that version's dependencies. It guesses (markers are ignored,
// any wheel counts), but a right guess means the sequential search finds
// what it needs already in memory, and a wrong one costs only a request.
func (sh *shared) warm(name string, ss pep440.Specifiers) {
	sh.mu.Lock()
	if sh.stopped {
		sh.mu.Unlock()
		return
	}
	ss = ss.And(sh.cons[name])
	if !sh.warmed[name] {
		sh.warmed[name] = true
		sh.specs[name] = map[string]bool{ss.String(): true}
		sh.warmQueue = append(sh.warmQueue, warmJob{name: name, ss: ss})
		sh.startWarmerLocked()
		return
	}
	sh.reguessLocked(name, ss)
	sh.mu.Unlock()
}

// reguessLocked guesses again for a project already warmed, when a
// requirement on it that was not seen before may point the search at
// another version: the first requirement seen is often a decoy's (a
// version the search will reject), whose guess is not the version the
// search examines. Each new specifier costs at most one guess, and none
// when its newest version is guessed already. A project warmed for
// another reason (a fork, a previous lock) is not guessed at; sh.mu is
// held.
func (sh *shared) reguessLocked(name string, ss pep440.Specifiers) {
	seen, ok := sh.specs[name]
	if !ok || seen[ss.String()] || len(seen) >= maxGuessSpecs {
		return
	}
	seen[ss.String()] = true
	page := sh.pages[name]
	if page == nil {
		// warmOne guesses for it once the page is here.
		sh.later[name] = append(sh.later[name], ss)
		return
	}
	sh.queueGuessLocked(name, guessFiles(page, name, ss, sh.pythons))
}

// maxGuessSpecs bounds how many specifiers of one project the warm-up
// guesses for: an index whose releases each require their dependency
// differently cannot send it after every version of it (the search asks
// for what it needs in any case).
const maxGuessSpecs = 8

// queueGuessLocked queues a guess at the newest of files unless it has
// been guessed at (or fetched) already; sh.mu is held and stays held.
func (sh *shared) queueGuessLocked(name string, files []index.File) {
	if len(files) == 0 || sh.guessed[files[0].URL] || sh.stopped {
		return
	}
	if _, ok := sh.meta[files[0].URL]; ok {
		return
	}
	sh.guessed[files[0].URL] = true
	sh.warmQueue = append(sh.warmQueue, warmJob{name: name, guess: &guess{name: name, files: files}})
	sh.startWarmerLocked()
	sh.mu.Lock()
}

// startWarmerLocked starts a worker unless limit of them already drain the
// queue; sh.mu is held and is released. Counting workers under the lock
// (not only in the group's limit) means that a worker that found the
// queue empty and is leaving never strands a job queued just after.
func (sh *shared) startWarmerLocked() {
	start := sh.workers < sh.limit
	if start {
		sh.workers++
	}
	sh.mu.Unlock()
	if start {
		// Blocks at most until a leaving worker gives back its slot.
		sh.warmers.Go(func() error { sh.warmWorker(); return nil })
	}
}

// warmJob is what to warm: a project and the versions that may be chosen,
// or (file set) the metadata of one file of a listing, or (locked set) a
// project a previous lock names and the sha256 of the files it locked.
type warmJob struct {
	name   string
	ss     pep440.Specifiers
	file   *index.File
	locked map[string]bool
	guess  *guess
}

// warmWorker warms queued jobs until the queue is empty or warming
// stops.
func (sh *shared) warmWorker() {
	for {
		sh.mu.Lock()
		if sh.stopped || len(sh.fileQueue)+len(sh.warmQueue) == 0 || sh.warmCtx.Err() != nil {
			sh.workers--
			sh.mu.Unlock()
			return
		}
		var job warmJob
		if len(sh.fileQueue) > 0 {
			job, sh.fileQueue = sh.fileQueue[len(sh.fileQueue)-1], sh.fileQueue[:len(sh.fileQueue)-1]
		} else {
			job, sh.warmQueue = sh.warmQueue[len(sh.warmQueue)-1], sh.warmQueue[:len(sh.warmQueue)-1]
		}
		sh.mu.Unlock()
		switch {
		case job.file != nil:
			// The search will likely examine this version: its
			// dependencies' pages are the next thing it needs.
			if md, err := sh.metadata(sh.warmCtx, *job.file); err == nil {
				sh.warmDeps(md)
			}
		case job.locked != nil:
			sh.warmLocked(job)
		case job.guess != nil:
			sh.guessAt(job.guess)
		default:
			sh.warmOne(job)
		}
	}
}

func (sh *shared) warmOne(job warmJob) {
	ctx := sh.warmCtx
	page, err := sh.ix.Project(ctx, job.name)
	sh.sawPage(job.name, page)
	var nf *index.NotFoundError
	if errors.As(err, &nf) && sh.required[job.name] {
		sh.mu.Lock()
		sh.stopped = true
		sh.warmQueue, sh.fileQueue = nil, nil
		sh.mu.Unlock()
	}
	if err != nil {
		return
	}
	// Requirements seen while the page was on its way are guessed at
	// too.
	sh.mu.Lock()
	later := sh.later[job.name]
	delete(sh.later, job.name)
	for _, ss := range later {
		sh.queueGuessLocked(job.name, guessFiles(page, job.name, ss, sh.pythons))
	}
	files := guessFiles(page, job.name, job.ss, sh.pythons)
	if len(files) == 0 || sh.guessed[files[0].URL] {
		sh.mu.Unlock()
		return
	}
	sh.guessed[files[0].URL] = true
	sh.mu.Unlock()
	sh.guessAt(&guess{name: job.name, files: files})
}

// guess is a version the warm-up expects the search to examine: files[at]
// of a project's candidate wheels, newest first. When what is known shows
// it will be rejected, the guess moves on to the next one (at most
// speculate in all).
type guess struct {
	name  string
	files []index.File
	at    int
	moved bool
	// onDisk: a previous resolution read its metadata.
	onDisk bool
}

// need is a requirement of a guessed version (g nil: of the inputs or the
// constraints), for finding guesses that will be rejected.
type need struct {
	g  *guess
	ss pep440.Specifiers
}

// guessAt fetches the metadata of a guess, warms its dependencies and
// records what it needs of them: a dependency no version of satisfies, or
// one that another need of the same project excludes, means the guess
// (or both) will be rejected and the next version is the one to fetch.
func (sh *shared) guessAt(g *guess) {
	if md, ok := sh.staticMetadata(g.name, g.files[g.at]); ok {
		sh.guessedDeps(g, md)
		return
	}
	if dc, ok := sh.ix.(diskCacher); ok {
		// Not read by this resolution yet, but on disk: a previous one
		// read it.
		_, read := sh.cachedMetadata(g.files[g.at].URL)
		if !read && dc.MetadataCached(g.files[g.at]) {
			sh.mu.Lock()
			g.onDisk = true
			sh.mu.Unlock()
		}
	}
	md, err := sh.metadata(sh.warmCtx, g.files[g.at])
	if err != nil {
		if sh.warmCtx.Err() == nil {
			sh.mu.Lock()
			sh.moveLocked(g)
			sh.mu.Unlock()
		}
		return
	}
	sh.guessedDeps(g, md)
}

// guessedDeps warms the dependencies in a guess's metadata and records
// what the guess needs of them.
func (sh *shared) guessedDeps(g *guess, md *dist.Metadata) {
	for _, r := range sh.warmable(md) {
		name := r.NormalizedName()
		sh.warm(name, r.Specifiers)
		sh.mu.Lock()
		sh.addNeedLocked(name, need{g: g, ss: r.Specifiers})
		sh.mu.Unlock()
	}
}

// staticMetadata returns the dependency metadata given for the version of
// name that f is, if any: it stands for f's own, which is then never
// fetched.
func (sh *shared) staticMetadata(name string, f index.File) (*dist.Metadata, bool) {
	if len(sh.static) == 0 {
		return nil, false
	}
	v, ok := fileVersion(name, f.Filename)
	if !ok {
		return nil, false
	}
	return sh.static.lookup(name, v)
}

// warmDeps warms the projects a version depends on, for some target.
func (sh *shared) warmDeps(md *dist.Metadata) {
	for _, r := range sh.warmable(md) {
		sh.warm(r.NormalizedName(), r.Specifiers)
	}
}

// warmable lists the requirements of a version worth warming: those on
// an index (not a URL), needed without an extra, whose marker holds for
// some target. A line that does not parse is left to the search to
// report.
func (sh *shared) warmable(md *dist.Metadata) []pep508.Requirement {
	var out []pep508.Requirement
	var name string
	var version *pep440.Version
	if !sh.overrides.empty() {
		name = dist.NormalizeName(md.Name)
		if v, err := pep440.Parse(md.Version); err == nil {
			version = &v
		}
	}
	for _, line := range md.RequiresDist {
		r, err := sh.requirement(line)
		if err != nil || r.URL != "" {
			continue
		}
		xs, ok := sh.overrides.replace(r, name, version)
		if !ok {
			xs = []replaced{{Requirement: r}}
		}
		for _, x := range xs {
			if x.extra != "" || !x.overridden && x.Marker != nil && len(x.Marker.Extras()) > 0 {
				continue // needed with an extra only
			}
			if x.Marker == nil || holdsForAny(x.Marker, sh.envs) {
				out = append(out, x.Requirement)
			}
		}
	}
	return out
}

// addNeedLocked records a need on a project and checks it against the
// project's page, if seen, and the other needs on it; sh.mu is held.
func (sh *shared) addNeedLocked(name string, n need) {
	prev := sh.needs[name]
	sh.needs[name] = append(prev, n)
	vs, ok := sh.versions[name]
	if !ok {
		return // checked when the page arrives
	}
	sh.checkLocked(vs, n, prev)
}

// checkLocked moves the guesses that n, with one of others, shows will be
// rejected; sh.mu is held.
func (sh *shared) checkLocked(vs []pep440.Version, n need, others []need) {
	if n.g != nil && n.g.moved {
		return
	}
	if !anyContains(vs, n.ss, nil) {
		sh.moveLocked(n.g)
		return
	}
	for _, o := range others {
		// A guess already moved on is not what its project will
		// require: it rules nothing out.
		if o.g != nil && o.g.moved {
			continue
		}
		if !anyContains(vs, n.ss, o.ss) {
			sh.moveLocked(n.g)
			sh.moveLocked(o.g)
		}
	}
}

// moveLocked moves a guess on to the project's next version, once;
// sh.mu is held.
func (sh *shared) moveLocked(g *guess) {
	if g == nil || g.moved || sh.stopped {
		return
	}
	g.moved = true
	if g.at+1 >= len(g.files) || g.at+1 >= speculate {
		return
	}
	if dc, ok := sh.ix.(diskCacher); ok && g.onDisk && !dc.MetadataCached(g.files[g.at+1]) {
		// A re-lock: the last resolution read this version but never
		// the next one, so the guess is likely wrong, not the version.
		return
	}
	next := &guess{name: g.name, files: g.files, at: g.at + 1}
	sh.fileQueue = append(sh.fileQueue, warmJob{name: g.name, guess: next})
	sh.startWarmerLocked()
	sh.mu.Lock()
}

// anyContains reports whether some version satisfies both specifier sets
// (b may be nil).
func anyContains(vs []pep440.Version, a, b pep440.Specifiers) bool {
	for _, v := range vs {
		if a.Contains(v, true) && (b == nil || b.Contains(v, true)) {
			return true
		}
	}
	return false
}

// holdsForAny reports whether a marker holds in one of the environments.
func holdsForAny(m *pep508.Marker, envs []pep508.Environment) bool {
	for _, e := range envs {
		if m.Evaluate(e) {
			return true
		}
	}
	return false
}

// warmPrevious queues, ahead of any guess, every project a previous lock
// of the same inputs names, nearest the roots first: a re-lock then
// revalidates all their pages at once (as many at a time as the index
// allows) instead of one level of the graph after another, and the
// metadata of the files the lock chose, unchanged, comes from the cache.
// Only requests move earlier: the resolution is the same without it.
func (sh *shared) warmPrevious(prev *pylock.Lock, roots []string) {
	if prev == nil {
		return
	}
	byName := map[string]*pylock.Package{}
	for i := range prev.Packages {
		p := &prev.Packages[i]
		if p.VCS != nil || p.Directory != nil || p.Archive != nil {
			continue // a fork's name is never looked up on an index
		}
		byName[dist.NormalizeName(p.Name)] = p
	}
	// Breadth first from the roots through the lock's dependencies, then
	// whatever the lock has that they no longer reach.
	var order []string
	seen := map[string]bool{}
	visit := func(name string) {
		if _, ok := byName[name]; ok && !seen[name] {
			seen[name] = true
			order = append(order, name)
		}
	}
	for _, r := range roots {
		visit(r)
	}
	for i := 0; i < len(order); i++ {
		for _, d := range byName[order[i]].Dependencies {
			visit(dist.NormalizeName(d.Name))
		}
	}
	for _, name := range sortedKeys(boolKeys(byName)) {
		visit(name)
	}
	sh.mu.Lock()
	if sh.stopped {
		sh.mu.Unlock()
		return
	}
	// The queue is a stack: the nearest the roots go on last.
	slices.Reverse(order)
	for _, name := range order {
		if sh.warmed[name] {
			continue
		}
		sh.warmed[name] = true
		locked := map[string]bool{}
		p := byName[name]
		for _, w := range p.Wheels {
			if h := w.Hashes["sha256"]; h != "" {
				locked[strings.ToLower(h)] = true
			}
		}
		sh.warmQueue = append(sh.warmQueue, warmJob{name: name, locked: locked})
	}
	// One worker per job up to the limit: the queue is all there is to
	// do until the roots' pages arrive.
	for n := min(len(sh.warmQueue), sh.limit); n > 0; n-- {
		sh.startWarmerLocked()
		sh.mu.Lock()
	}
	sh.mu.Unlock()
}

func boolKeys[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// warmLocked revalidates the page of a project a previous lock names and
// reads the metadata of the wheels it locked that the page still lists:
// from the cache when the lock was made here, otherwise from the index,
// ahead of the search that will most likely ask for it. An sdist is not
// built on a guess.
func (sh *shared) warmLocked(job warmJob) {
	page, err := sh.ix.Project(sh.warmCtx, job.name)
	sh.sawPage(job.name, page)
	if err != nil {
		return
	}
	for _, f := range page.Files {
		if !job.locked[f.SHA256()] || !strings.HasSuffix(f.Filename, ".whl") {
			continue
		}
		if _, ok := sh.staticMetadata(job.name, f); ok {
			continue
		}
		sh.metadata(sh.warmCtx, f) //nolint:errcheck // a warm-up; errors surface when used
	}
}

// parallelIndex is an index that says how many requests it has in flight
// at most.
type parallelIndex interface {
	Parallel() int
}

// defaultParallel bounds background work for an index that does not say:
// as much as the index client's own default.
const defaultParallel = index.DefaultParallel

func parallelOf(ix Index) int {
	if p, ok := ix.(parallelIndex); ok && p.Parallel() > 0 {
		return p.Parallel()
	}
	return defaultParallel
}

// speculate bounds how many of the versions a package may still take,
// most preferred first, have their metadata fetched ahead of the search:
// the first always, each next one only while the metadata at hand shows
// the one before will be rejected (targetProblem.prefetch).
const speculate = 4

// sawPage keeps a page the index returned (nil is ignored) for seenPage.
func (sh *shared) sawPage(name string, page *index.Page) {
	if page == nil {
		return
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.pages[name]; ok {
		return
	}
	sh.pages[name] = page
	vs := pageVersions(page, name, sh.pythons)
	sh.versions[name] = vs
	ns := sh.needs[name]
	for i, n := range ns {
		sh.checkLocked(vs, n, ns[:i])
	}
}

// pageVersions lists the versions of a page that some target may install:
// not yanked, and with a Requires-Python that admits one of the Pythons.
func pageVersions(page *index.Page, name string, pythons []pep440.Version) []pep440.Version {
	seen := map[string]bool{}
	var out []pep440.Version
	for _, f := range page.Files {
		if f.Yanked || !admitsAny(f.RequiresPython, pythons) {
			continue
		}
		v, ok := fileVersion(name, f.Filename)
		if !ok || seen[v.String()] {
			continue
		}
		seen[v.String()] = true
		out = append(out, v)
	}
	return out
}

// fileVersion returns the version of project name that a wheel or sdist
// filename is; false for a file of another project or a bad name.
func fileVersion(name, filename string) (pep440.Version, bool) {
	var vs string
	if strings.HasSuffix(filename, ".whl") {
		w, err := dist.ParseWheelName(filename)
		if err != nil || dist.NormalizeName(w.Name) != name {
			return pep440.Version{}, false
		}
		vs = w.Version
	} else {
		sd, err := dist.ParseSdistName(filename, name)
		if err != nil {
			return pep440.Version{}, false
		}
		vs = sd.Version
	}
	v, err := pep440.Parse(vs)
	return v, err == nil
}

// seenPage returns the page of a project if the index has returned it,
// without asking it.
func (sh *shared) seenPage(name string) *index.Page {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.pages[name]
}

// prefetchFiles queues the metadata of files the search will examine
// next, ahead of every guess; a file fetched or queued already is not
// queued again.
func (sh *shared) prefetchFiles(name string, files []index.File) {
	sh.mu.Lock()
	if sh.stopped {
		sh.mu.Unlock()
		return
	}
	n := 0
	for _, f := range files {
		if _, ok := sh.meta[f.URL]; ok || sh.queued[f.URL] {
			continue
		}
		if _, ok := sh.staticMetadata(name, f); ok {
			continue
		}
		sh.queued[f.URL] = true
		sh.fileQueue = append(sh.fileQueue, warmJob{name: name, file: &f})
		n++
	}
	if n == 0 {
		sh.mu.Unlock()
		return
	}
	sh.startWarmerLocked()
}

// guessFiles lists the wheels a resolution would look at first, one per
// version, newest first: final versions the specifiers admit whose
// Requires-Python admits one of the targets' Pythons.
func guessFiles(page *index.Page, name string, ss pep440.Specifiers, pythons []pep440.Version) []index.File {
	type versioned struct {
		f index.File
		v pep440.Version
	}
	byVersion := map[string]versioned{}
	for _, f := range page.Files {
		if f.Yanked || !strings.HasSuffix(f.Filename, ".whl") {
			continue
		}
		w, err := dist.ParseWheelName(f.Filename)
		if err != nil || dist.NormalizeName(w.Name) != name {
			continue
		}
		v, err := pep440.Parse(w.Version)
		if err != nil || v.IsPrerelease() || !ss.Contains(v, false) || !admitsAny(f.RequiresPython, pythons) {
			continue
		}
		if _, ok := byVersion[v.String()]; !ok {
			byVersion[v.String()] = versioned{f, v}
		}
	}
	all := make([]versioned, 0, len(byVersion))
	for _, x := range byVersion {
		all = append(all, x)
	}
	slices.SortFunc(all, func(a, b versioned) int { return b.v.Compare(a.v) })
	out := make([]index.File, 0, min(len(all), speculate))
	for _, x := range all[:min(len(all), speculate)] {
		out = append(out, x.f)
	}
	return out
}

// admitsAny reports whether a Requires-Python admits one of the Pythons;
// one that does not parse admits them all, as newListing reads it.
func admitsAny(requiresPython string, pythons []pep440.Version) bool {
	if requiresPython == "" {
		return true
	}
	rp, err := pep440.ParseSpecifiers(requiresPython)
	if err != nil {
		return true
	}
	for _, py := range pythons {
		if rp.Contains(py, true) {
			return true
		}
	}
	return false
}
