package fetch

import (
	"context"
	"fmt"

	"github.com/larder-build/larder/resolver/pylock"
	"github.com/larder-build/larder/wheelhouse"
)

// Verify re-hashes every file of the store against its manifest
// (wheelhouse.Store.Verify) and compares the store with the lock: a file
// or built wheel the lock needs that is not there is missing, a file
// whose hash differs from the lock's is corrupt, and a file the lock no
// longer needs is stale. A nil lock checks the store alone. It returns
// ctx's error, and no report, when ctx ends before every file is read.
func Verify(ctx context.Context, store *wheelhouse.Store, lock *pylock.Lock) (*wheelhouse.VerifyReport, error) {
	var p *plan
	if lock != nil {
		var err error
		if p, err = makePlan(lock); err != nil {
			return nil, fmt.Errorf("verifying against the lock: %w", err)
		}
	}
	r, err := store.Verify(ctx, 0)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return r, nil
	}
	// A file the store knows is absent is already reported as missing.
	reported := map[string]bool{}
	for _, pr := range r.Problems {
		if pr.Kind == wheelhouse.ProblemMissing {
			reported[pr.File] = true
		}
	}
	entries := store.Entries()
	for _, w := range p.wants {
		e, ok := store.Lookup(w.name)
		switch {
		case !ok:
			r.Add(wheelhouse.ProblemMissing, w.name, "the lock needs it (%s %s) and the wheelhouse does not have it", w.project, w.version)
		case e.SHA256 != w.sha256:
			r.Add(wheelhouse.ProblemCorrupt, w.name, "the wheelhouse has sha256 %s, the lock says %s", e.SHA256, w.sha256)
		}
	}
	for _, j := range p.jobs {
		for _, t := range j.targets {
			if _, ok := p.builtFor(j, entries, t); !ok {
				what := j.vcsString()
				if j.sdist != nil {
					what = "sdist " + j.sdist.name
				}
				r.Add(wheelhouse.ProblemMissing, j.String(), "no wheel built from %s for %s", what, t)
			}
		}
	}
	for _, e := range entries {
		if _, listed := p.byName[e.Filename]; !listed && !p.needed(e) && !reported[e.Filename] {
			r.Add(wheelhouse.ProblemStale, e.Filename, "the lock does not need it any more")
		}
	}
	r.Sort()
	return r, nil
}
