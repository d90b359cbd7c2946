package serve

import (
	"slices"
	"strings"
)

// localFiles returns a project's local files: baked ones, then (for a
// public project) fetched-through ones of other names.
func (s *Server) localFiles(norm string, private bool) ([]*localFile, uint64) {
	// The generation is read first: a page cached under it is then never
	// newer than its files (a refresh stores the list, then counts).
	gen := s.cacheGen.Load()
	files := s.baked.projects[norm]
	if sh := s.shared.Load().projects[norm]; len(sh) > 0 {
		files = append(files[:len(files):len(files)], sh...)
	}
	s.cacheMu.RLock()
	defer s.cacheMu.RUnlock()
	if up := s.uploaded.projects[norm]; len(up) > 0 {
		files = append(files[:len(files):len(files)], up...)
	}
	if private {
		return files, gen
	}
	out := files
	for _, lf := range s.cached.projects[norm] {
		_, baked := s.baked.files[lf.entry.Filename]
		if _, shared := s.shared.Load().files[lf.entry.Filename]; !baked && !shared {
			out = append(out[:len(out):len(out)], lf)
		}
	}
	return out, gen
}

// newListing lists a project's local files and upstream page.
func newListing(norm string, local []*localFile, up *upstreamPage) *listing {
	l := &listing{name: norm, up: up, rows: make([]row, 0, len(local)), versions: make([]string, 0, len(local))}
	for _, lf := range local {
		l.rows = append(l.rows, lf.row())
		l.versions = append(l.versions, lf.entry.Version)
	}
	slices.SortFunc(l.rows, func(a, b row) int { return strings.Compare(a.filename, b.filename) })
	l.versions = sortVersions(l.versions)
	return l
}

// cachedProject returns the rendering of a project's page made from the
// local files of generation gen and the upstream page upID (0 for none),
// or nil.
func (s *Server) cachedProject(norm string, gen, upID uint64) *page {
	s.pagesMu.Lock()
	c := s.pages[norm]
	s.pagesMu.Unlock()
	if c != nil && c.gen == gen && c.upID == upID {
		return c.p
	}
	return nil
}

// renderedProject renders a project's page, or reuses the rendering made
// from the same local files and upstream page.
func (s *Server) renderedProject(l *listing, gen uint64) *page {
	upID := l.up.pageID()
	if p := s.cachedProject(l.name, gen, upID); p != nil {
		return p
	}
	c := &cachedPage{gen: gen, upID: upID, p: renderProject(l, keptPageBytes)}
	size := int64(len(c.p.html)+len(c.p.json)) + pageOverhead
	s.pagesMu.Lock()
	if old := s.pages[l.name]; old != nil {
		s.pagesBytes -= int64(len(old.p.html)+len(old.p.json)) + pageOverhead
	}
	if len(s.pages) > 2*maxPages || s.pagesBytes+size > renderedCacheBytes {
		clear(s.pages)
		s.pagesBytes = 0
	}
	s.pages[l.name] = c
	s.pagesBytes += size
	s.pagesMu.Unlock()
	return c.p
}

// pageID is an upstream page's id, 0 for none.
func (p *upstreamPage) pageID() uint64 {
	if p == nil {
		return 0
	}
	return p.id
}

// lookupLocal returns the local file of a name: baked, or fetched through
// for a project that is not private.
func (s *Server) lookupLocal(name string) *localFile {
	if lf := s.baked.files[name]; lf != nil {
		return lf
	}
	s.cacheMu.RLock()
	up, lf := s.uploaded.files[name], s.cached.files[name]
	s.cacheMu.RUnlock()
	if up != nil {
		return up
	}
	if lf != nil && !s.isPrivate(lf.project) {
		return lf
	}
	return nil
}
