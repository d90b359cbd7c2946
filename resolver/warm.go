package resolver

import (
	"errors"
	"strings"

	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/pep440"
	"github.com/larder-build/larder/resolver/pep508"
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
