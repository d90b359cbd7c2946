package fetch

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/pylock"
	"github.com/larder-build/larder/resolver/simple"
	"github.com/larder-build/larder/resolver/tags"
	"github.com/larder-build/larder/resolver/target"
	"github.com/larder-build/larder/wheelhouse"
)

// want is one file the lock lists, to be downloaded from its URL.
type want struct {
	name    string
	url     string
	index   string
	sha256  string
	size    int64 // 0 when the lock does not say
	project string
	version string
	// requiresPython is the package's own, from the lock ("" if absent).
	requiresPython string
	uploadTime     time.Time
	targets        []string
	// anyTarget marks a file of a package the lock gives no targets for
	// (a lock written by another tool): every platform may install it.
	anyTarget bool
	private   bool
	wheel     bool
}

// job is a package that some targets install as a wheel built from
// source: its sdist (a want) or a git checkout.
type job struct {
	project string
	version string
	sdist   *want
	vcs     *pylock.VCS
	targets []target.Target // the targets that need the built wheel
	private bool
}

func (j *job) String() string { return j.project + "==" + j.version }

// plan is everything a lock needs in a store.
type plan struct {
	wants  []*want // sorted by file name
	byName map[string]*want
	jobs   []*job // sorted by project
	rank   *rankers
}

// rankers caches a tags.Ranker per target.
type rankers struct {
	m map[string]*tags.Ranker
}

func (r *rankers) get(t target.Target) *tags.Ranker {
	k := t.String()
	if rk, ok := r.m[k]; ok {
		return rk
	}
	rk := tags.NewRanker(t)
	r.m[k] = rk
	return rk
}

// fits reports whether a wheel file name is installable on t.
func (r *rankers) fits(filename string, t target.Target) bool {
	w, err := dist.ParseWheelName(filename)
	if err != nil {
		return false
	}
	_, ok := r.get(t).Rank(w.Tags)
	return ok
}

// makePlan works out from a lock every file to download and every wheel
// to build. Each target of a package gets the wheel it ranks best among
// the package's wheels (the one the resolver chose); a target that no
// wheel fits needs a wheel built from the sdist or the checkout.
func makePlan(lock *pylock.Lock) (*plan, error) {
	p := &plan{byName: map[string]*want{}, rank: &rankers{m: map[string]*tags.Ranker{}}}
	lockTargets := lock.Targets()
	parsed := map[string]target.Target{}
	parse := func(s string) (target.Target, error) {
		if t, ok := parsed[s]; ok {
			return t, nil
		}
		t, err := target.Parse(s)
		if err != nil {
			return target.Target{}, fmt.Errorf("reading target %q: %w", s, err)
		}
		parsed[s] = t
		return t, nil
	}
	for i := range lock.Packages {
		pkg := &lock.Packages[i]
		where := pkg.Name
		if pkg.Version != "" {
			where += " " + pkg.Version
		}
		var lt pylock.LarderTool
		if pkg.Tool.Larder != nil {
			lt = *pkg.Tool.Larder
		}
		tnames := lt.Targets
		if tnames == nil {
			tnames = lockTargets
		}
		var targets []target.Target
		for _, s := range tnames {
			t, err := parse(s)
			if err != nil {
				return nil, fmt.Errorf("package %s: %w", where, err)
			}
			targets = append(targets, t)
		}
		switch {
		case pkg.Directory != nil:
			return nil, fmt.Errorf("package %s: a local directory source cannot be fetched; build it into a wheel first", where)
		case pkg.Archive != nil:
			return nil, fmt.Errorf("package %s: source archives are not supported; lock an sdist or a wheel instead", where)
		case pkg.VCS != nil:
			if pkg.VCS.Type != "git" {
				return nil, fmt.Errorf("package %s: %q checkouts are not supported, only git", where, pkg.VCS.Type)
			}
			if pkg.VCS.CommitID == "" || pkg.VCS.URL == "" {
				return nil, fmt.Errorf("package %s: the lock gives no url and commit-id for its git checkout", where)
			}
			if len(targets) == 0 {
				return nil, fmt.Errorf("package %s: built from git but the lock names no target to build for", where)
			}
			p.jobs = append(p.jobs, &job{project: pkg.Name, version: pkg.Version, vcs: pkg.VCS, targets: targets, private: true})
			continue
		}

		// Which wheel does each target install?
		chosen := map[string][]string{} // file name -> target names
		var unserved []target.Target
		for ti, t := range targets {
			best, bestRank := "", 0
			for _, w := range pkg.Wheels {
				name := w.FileName()
				wn, err := dist.ParseWheelName(name)
				if err != nil {
					continue // reported below, when the wheel is planned
				}
				if r, ok := p.rank.get(t).Rank(wn.Tags); ok && (best == "" || r < bestRank) {
					best, bestRank = name, r
				}
			}
			if best == "" {
				unserved = append(unserved, t)
				continue
			}
			chosen[best] = append(chosen[best], tnames[ti])
		}
		for _, f := range pkg.Wheels {
			w, err := p.add(pkg, f, true, lt.Private, chosen[f.FileName()])
			if err != nil {
				return nil, err
			}
			w.anyTarget = w.anyTarget || len(targets) == 0
			if _, err := dist.ParseWheelName(w.name); err != nil {
				return nil, fmt.Errorf("package %s: %w", where, err)
			}
		}
		if pkg.Sdist != nil {
			var sdistTargets []string
			for _, t := range unserved {
				sdistTargets = append(sdistTargets, t.String())
			}
			sd, err := p.add(pkg, *pkg.Sdist, false, lt.Private, sdistTargets)
			if err != nil {
				return nil, err
			}
			sd.anyTarget = sd.anyTarget || len(targets) == 0
			if len(unserved) > 0 {
				p.jobs = append(p.jobs, &job{project: pkg.Name, version: pkg.Version, sdist: sd, targets: unserved, private: lt.Private})
			}
		} else if len(unserved) > 0 {
			return nil, fmt.Errorf("package %s: no wheel in the lock fits %s and there is no sdist to build", where, unserved[0])
		}
		if pkg.Sdist == nil && len(pkg.Wheels) == 0 {
			return nil, fmt.Errorf("package %s: the lock lists no file for it", where)
		}
	}
	sort.Slice(p.wants, func(i, j int) bool { return p.wants[i].name < p.wants[j].name })
	sort.SliceStable(p.jobs, func(i, j int) bool { return p.jobs[i].project < p.jobs[j].project })
	return p, nil
}

// add plans one file of a package.
func (p *plan) add(pkg *pylock.Package, f pylock.File, wheel, private bool, targets []string) (*want, error) {
	name := f.FileName()
	where := pkg.Name + " " + pkg.Version
	if !wheelhouse.ValidFilename(name) {
		return nil, fmt.Errorf("package %s: %q is not a distribution file name", where, name)
	}
	sum := strings.ToLower(f.Hashes["sha256"])
	if !simple.ValidSHA256(sum) {
		return nil, fmt.Errorf("package %s: %s has no sha256 in the lock (larder verifies every file by its sha256)", where, name)
	}
	if f.URL == "" {
		return nil, fmt.Errorf("package %s: %s has no url in the lock", where, name)
	}
	u, err := url.Parse(f.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("package %s: %s: url %q is not an absolute http(s) URL", where, name, simple.RedactURL(f.URL))
	}
	if prev, ok := p.byName[name]; ok {
		if prev.sha256 != sum {
			return nil, fmt.Errorf("package %s: %s appears twice in the lock with different hashes", where, name)
		}
		prev.targets = mergeTargets(prev.targets, targets)
		prev.private = prev.private || private
		return prev, nil
	}
	w := &want{name: name, url: f.URL, index: pkg.Index, sha256: sum, size: f.Size, project: pkg.Name, version: pkg.Version,
		requiresPython: pkg.RequiresPython, uploadTime: f.UploadTime, targets: targets, private: private, wheel: wheel}
	p.wants = append(p.wants, w)
	p.byName[name] = w
	return w, nil
}

func mergeTargets(a, b []string) []string {
	out := append([]string{}, a...)
	for _, t := range b {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// built reports whether a store entry is a wheel built for this job (from
// the same sdist bytes or the same commit).
func (j *job) built(e wheelhouse.Entry) bool {
	if !e.IsWheel() || dist.NormalizeName(e.Project) != j.project {
		return false
	}
	if j.sdist != nil {
		return e.Origin.Kind == wheelhouse.OriginSdist && e.Origin.SdistSHA256 == j.sdist.sha256
	}
	return e.Origin.Kind == wheelhouse.OriginVCS && e.Origin.URL == j.vcs.URL && e.Origin.Commit == j.vcs.CommitID
}

// builtFor returns the store entry built for this job that fits t.
func (p *plan) builtFor(j *job, entries []wheelhouse.Entry, t target.Target) (wheelhouse.Entry, bool) {
	for _, e := range entries {
		if j.built(e) && p.rank.fits(e.Filename, t) {
			return e, true
		}
	}
	return wheelhouse.Entry{}, false
}

// needed reports whether the lock needs a store entry: a listed file with
// the same hash, or a wheel built for a job that fits one of its targets.
func (p *plan) needed(e wheelhouse.Entry) bool {
	if w, ok := p.byName[e.Filename]; ok {
		return w.sha256 == e.SHA256
	}
	for _, j := range p.jobs {
		if !j.built(e) {
			continue
		}
		for _, t := range j.targets {
			if p.rank.fits(e.Filename, t) {
				return true
			}
		}
	}
	return false
}
