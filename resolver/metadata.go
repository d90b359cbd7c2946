package resolver

import (
	"bytes"
	"context"
	"sync"

	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/pep440"
)

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
