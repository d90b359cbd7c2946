package resolver

import (
	"bytes"
	"context"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/larder-build/larder/internal/flight"
	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/pep440"
	"github.com/larder-build/larder/resolver/pep508"
)

// shared is what the targets of one resolution share: the index and
// parsed metadata, fetched once whatever the number of targets.
type shared struct {
	ix Index

	mu   sync.Mutex
	meta map[string]*metaResult // file URL -> metadata, once fetched
	// metaFlight makes callers that want the same file while it is being
	// fetched wait for that one request; a caller that gives up (a
	// warm-up) leaves it to the others.
	metaFlight flight.Group[string, *metaResult]

	warmCtx context.Context
	warmed  map[string]bool // project names being warmed
	// specs are, for each project warm was asked to warm, the specifiers
	// (constraints included) already guessed from; later those seen
	// while its page was on its way; guessed the files a guess started
	// from (reguessLocked).
	specs   map[string]map[string]bool
	later   map[string][]pep440.Specifiers
	guessed map[string]bool
	// warmers are the warming workers, at most limit of them (SetLimit);
	// Resolve waits for them before it returns.
	warmers errgroup.Group
	stopped bool
	cons    map[string]pep440.Specifiers
	// overrides replace requirements on their projects.
	overrides *overrides
	// static stands for the metadata of the projects it names.
	static staticIndex
	// Warming is a queue drained by at most limit workers, the index's
	// own bound on requests in flight: a hundred thousand names cost a
	// queue entry each, not a goroutine each. Both queues are stacks:
	// what was found last is nearest the search, which goes deep first.
	limit     int
	warmQueue []warmJob
	// fileQueue holds the metadata of the versions the search may still
	// choose, most preferred first (prefetchFiles): surer to be used than
	// any guess in warmQueue, so workers take them first. queued are the
	// URLs ever put there.
	fileQueue []warmJob
	queued    map[string]bool
	// pythons are the targets' Pythons, which guesses respect.
	pythons []pep440.Version
	// pages are the pages the index has returned, by normalized name,
	// for looking ahead without waiting (seenPage).
	pages map[string]*index.Page
	// versions are the installable versions of those pages, needs the
	// requirements guessed versions have on each project (guessAt), and
	// envs the targets' marker environments, which guesses respect.
	versions map[string][]pep440.Version
	needs    map[string][]need
	envs     []pep508.Environment
	parsed   map[string]parsedRequirement
	workers  int
	// required are the names every target needs (roots without a
	// marker): one of them missing ends the resolution, so it ends the
	// warming too instead of asking about every other name.
	required map[string]bool

	vcsMu sync.Mutex
	vcs   map[string]*vcsResult // "url@rev#subdir" -> resolution
}

// parsedRequirement is a Requires-Dist line parsed once.
type parsedRequirement struct {
	r   pep508.Requirement
	err error
}

// requirement parses a Requires-Dist line, once per resolution: the same
// lines recur in every version of a project, and the search examines a
// version again after each backjump. The result is shared: read only.
func (sh *shared) requirement(line string) (pep508.Requirement, error) {
	sh.mu.Lock()
	pr, ok := sh.parsed[line]
	sh.mu.Unlock()
	if ok {
		return pr.r, pr.err
	}
	r, err := pep508.ParseRequirement(line)
	sh.mu.Lock()
	sh.parsed[line] = parsedRequirement{r, err}
	sh.mu.Unlock()
	return r, err
}

type metaResult struct {
	md  *dist.Metadata
	err error
}

// metadata returns the parsed metadata of a file, fetching it once: a
// result (or a failure other than the end of a context, which is no fact
// about the file) is kept for every later caller. The fetch runs under
// the flight's context: it ends when every caller waiting for it has
// given up, and is bounded by the index's own timeouts.
func (sh *shared) metadata(ctx context.Context, f index.File) (*dist.Metadata, error) {
	if r, ok := sh.cachedMetadata(f.URL); ok {
		return r.md, r.err
	}
	r, err := sh.metaFlight.Do(ctx, f.URL, func(ctx context.Context) (*metaResult, error) {
		// Another flight may have ended between the look-up and here.
		if r, ok := sh.cachedMetadata(f.URL); ok {
			return r, nil
		}
		raw, err := sh.ix.Metadata(ctx, f)
		r := &metaResult{}
		if err == nil {
			r.md, err = dist.ParseMetadata(bytes.NewReader(raw))
		}
		r.err = err
		if err == nil || ctx.Err() == nil {
			sh.mu.Lock()
			sh.meta[f.URL] = r
			sh.mu.Unlock()
		}
		return r, nil
	})
	if err != nil {
		return nil, err // this caller's context ended
	}
	if r.err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return r.md, r.err
}

func (sh *shared) cachedMetadata(url string) (*metaResult, bool) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r, ok := sh.meta[url]
	return r, ok
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
