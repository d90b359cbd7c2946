package resolver

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/pylock"
)

// staleFirst is the index of a re-lock: it answers a project's page from
// the cache, whatever its age, so that the search need not wait for it,
// and revalidates each page it answered behind the search, as many at a
// time as the index allows. The resolution stands only if every one of
// them comes back unchanged (settle); otherwise it is made again against
// the index itself, which then has the revalidated pages in memory. The
// result is the one revalidating first gives. The first page found
// changed stops the search made from the cache (its context): nothing it
// finds from then on can stand.
type staleFirst struct {
	Index         // revalidates pages, and answers the rest
	cached  Index // answers pages from the cache alone
	ctx     context.Context
	stop    context.CancelFunc // the search's, called at the first change
	mu      sync.Mutex
	checked map[string]bool // names whose page is being revalidated
	checks  sync.WaitGroup
	changed atomic.Bool
}

// cacheReader is an index that can make a twin reading its cache alone.
type cacheReader interface {
	CachedOnly() *index.Client
}

// newStaleFirst returns the staleFirst index of a re-lock (a previous
// lock given) against ix, or nil when ix cannot read its cache alone. The
// revalidations run under ctx; stop ends the search from the cache.
func newStaleFirst(ctx context.Context, ix Index, prev *pylock.Lock, stop context.CancelFunc) *staleFirst {
	cr, ok := ix.(cacheReader)
	if prev == nil || !ok {
		return nil
	}
	return &staleFirst{Index: ix, cached: cr.CachedOnly(), ctx: ctx, stop: stop, checked: map[string]bool{}}
}

// Project answers from the cache when it has the page, and starts its
// revalidation; otherwise it asks the index.
func (s *staleFirst) Project(ctx context.Context, name string) (*index.Page, error) {
	page, err := s.cached.Project(ctx, name)
	if err != nil {
		return s.Index.Project(ctx, name)
	}
	s.mu.Lock()
	first := !s.checked[name]
	s.checked[name] = true
	s.mu.Unlock()
	if first {
		s.checks.Go(func() {
			fresh, err := s.Index.Project(s.ctx, name)
			if (err != nil || !reflect.DeepEqual(page, fresh)) && s.changed.CompareAndSwap(false, true) {
				s.stop()
			}
		})
	}
	return page, nil
}

// settle waits for every revalidation and reports whether all of them
// found their page unchanged.
func (s *staleFirst) settle() bool {
	s.checks.Wait()
	return !s.changed.Load()
}

// Parallel is the index's bound on requests in flight.
func (s *staleFirst) Parallel() int { return parallelOf(s.Index) }

// MetadataCached reports whether the index has f's metadata on disk.
func (s *staleFirst) MetadataCached(f index.File) bool {
	dc, ok := s.Index.(diskCacher)
	return ok && dc.MetadataCached(f)
}

// ProjectNames lists the index's projects, when it can.
func (s *staleFirst) ProjectNames(ctx context.Context) ([]string, error) {
	pn, ok := s.Index.(projectNamer)
	if !ok {
		return nil, errors.New("the index cannot list its projects")
	}
	return pn.ProjectNames(ctx)
}
