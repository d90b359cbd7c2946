package layers

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/larder-build/larder/internal/par"
	"github.com/larder-build/larder/wheelhouse"
)

// Paths of larder's files in an image.
const (
	// IndexBinaryPath is where the larder-index binary goes.
	IndexBinaryPath = "/usr/local/bin/larder-index"
	// IndexConfigPath is where its configuration goes (the default that
	// larder-index reads).
	IndexConfigPath = "/etc/larder/index.json"
	// DefaultPath is where the wheelhouse goes.
	DefaultPath = "/wheelhouse"
)

// Content says where a stack's files come from and where they go.
type Content struct {
	// Store holds the wheelhouse files.
	Store *wheelhouse.Store
	// Path is the wheelhouse folder in the image (DefaultPath when "").
	Path string
	// Made, when not nil, holds the images' manifest.json and static
	// simple index made ahead of the plan (by MakeIndexes): BuildStacks
	// takes a stack's from it when they were made from the stack's
	// entries, and makes them itself otherwise.
	Made *Indexes
	// Kept, when not nil, opens a layer of the image a bake refreshes: a
	// pages layer this machine has no record of is read to learn what it
	// holds (without it, such a layer is made afresh). It is called for
	// several stacks at once.
	Kept KeptLayer
}

func (c Content) dir() string {
	if c.Path == "" {
		return DefaultPath
	}
	return c.Path
}

// file is a wheelhouse file in the image, read from the store.
func (c Content) file(name, sha string, size int64) File {
	return File{Path: path.Join(c.dir(), wheelhouse.FilesDir, name), Mode: 0o644, Source: c.Store.Path(name), Size: size, SHA256: sha}
}

// sidecar is a wheel's .metadata file, read from the store.
func (c Content) sidecar(name, sha string) (File, error) {
	src := c.Store.MetadataPath(name)
	st, err := os.Stat(src)
	if err != nil {
		if pe, ok := err.(*fs.PathError); ok {
			err = pe.Err // SourceError names the file
		}
		return File{}, fmt.Errorf("reading the metadata of %s: %w", name, &SourceError{File: src, Err: err})
	}
	return File{Path: path.Join(c.dir(), wheelhouse.FilesDir, name+".metadata"), Mode: 0o644, Source: src, Size: st.Size(), SHA256: sha}, nil
}

// entryFiles are a wheelhouse entry's file and sidecar.
func (c Content) entryFiles(e wheelhouse.Entry) ([]File, error) {
	out := []File{c.file(e.Filename, e.SHA256, e.Size)}
	if hasSidecar(e) {
		sc, err := c.sidecar(e.Filename, e.MetadataSHA256)
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, nil
}

// BucketFiles are the files of a bucket laid out by this bake, found among
// the stack's entries.
func (c Content) BucketFiles(s *Stack, b Bucket) ([]File, error) {
	byName := map[string]wheelhouse.Entry{}
	for _, e := range s.Entries {
		byName[e.Filename] = e
	}
	var out []File
	for _, f := range b.Files {
		e, ok := byName[f.Name]
		if !ok || e.SHA256 != f.SHA256 {
			return nil, fmt.Errorf("bucket %s: %s is not in the image's wheelhouse", b, f.Name)
		}
		fs, err := c.entryFiles(e)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	return out, nil
}

// deltaFiles are the files of a stack's top layer: the files the buckets
// do not hold, whiteouts for the files of kept buckets that the image no
// longer has, the image's manifest.json, and, when the stack keeps a
// pages layer holding kept, the pages that differ from its own and
// whiteouts for the projects it has and the image no longer does.
func (c Content) deltaFiles(s *Stack, ix *index, kept *pagesRecord) ([]File, error) {
	var out []File
	for _, e := range s.Delta {
		fs, err := c.entryFiles(e)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	for _, f := range s.Removed {
		out = append(out, File{Path: path.Join(c.dir(), wheelhouse.FilesDir, f.Name), Whiteout: true})
		if f.Metadata {
			out = append(out, File{Path: path.Join(c.dir(), wheelhouse.FilesDir, f.Name+".metadata"), Whiteout: true})
		}
	}
	out = append(out, ix.manifest)
	if kept == nil {
		return out, nil
	}
	if kept.Keys == nil {
		// What the kept pages were made from is not known: every page
		// is made, and those whose bytes differ go.
		pages, rec := ix.all()
		out = changedPages(out, c.dir(), pages, rec, kept)
	} else {
		// A group of pages whose key is the kept one's renders to the
		// kept bytes: only the others are made, on every core, and go
		// if their bytes differ.
		var changed []string
		for name, k := range ix.keys.Projects {
			if kept.Keys.Projects[name] != k {
				changed = append(changed, name)
			}
		}
		groups := make([][]wheelhouse.Page, len(changed), len(changed)+1)
		par.For(len(changed), 8, 0, func(i int) { groups[i] = ix.static.ProjectPages(changed[i]) })
		if ix.keys.Root != kept.Keys.Root {
			groups = append(groups, ix.static.RootPages())
		}
		pages, rec := pageFiles(c.dir(), slices.Concat(groups...))
		out = changedPages(out, c.dir(), pages, rec, kept)
	}
	// A project the pages layer has and the image no longer does goes
	// with its folder.
	for name := range kept.Projects {
		if !ix.static.Has(name) {
			out = append(out, File{Path: path.Join(c.dir(), wheelhouse.SimpleDir, name), Whiteout: true})
		}
	}
	return out, nil
}

// changedPages appends to out the pages whose group's digest, in rec,
// is not the one kept records.
func changedPages(out []File, dir string, pages []File, rec, kept *pagesRecord) []File {
	for _, p := range pages {
		name, root := pageGroup(strings.TrimPrefix(p.Path, dir+"/"))
		if root && rec.Root != kept.Root || !root && rec.Projects[name] != kept.Projects[name] {
			out = append(out, p)
		}
	}
	return out
}

// pageFiles are pages as files of the image with its wheelhouse at dir,
// hashed on every core, and the digests of their groups.
func pageFiles(dir string, pages []wheelhouse.Page) ([]File, *pagesRecord) {
	files := make([]File, len(pages))
	sums := make([]pageSum, len(pages))
	par.For(len(pages), 128, 0, func(i int) {
		files[i] = DataFile(path.Join(dir, pages[i].Path), 0o644, pages[i].Data)
		sums[i] = pageSum{pages[i].Path, files[i].SHA256}
	})
	rec := digestPages(sums)
	return files, &rec
}

// index is an image's manifest.json and static simple index: the keys
// of its groups of pages at once, the pages themselves when asked.
type index struct {
	manifest File
	static   *wheelhouse.StaticIndex
	keys     pageKeys
	dir      string
	// all made once: every page, and what a pages layer of them holds.
	once   sync.Once
	pages  []File
	record pagesRecord
}

// all returns every page of the index, and what a pages layer holding
// them holds, made on the first call.
func (ix *index) all() ([]File, *pagesRecord) {
	ix.once.Do(func() {
		pages, rec := pageFiles(ix.dir, ix.static.Pages())
		ix.pages, ix.record = pages, *rec
		ix.record.Keys, ix.record.Dir = &ix.keys, ix.dir
	})
	return ix.pages, &ix.record
}

// index returns the stack's index: the one made ahead when it was made
// from exactly the stack's entries, else made now.
func (c Content) index(s *Stack) (*index, error) {
	if ix, ok := c.Made.index(s.Platform, s.Entries); ok {
		return ix, nil
	}
	return c.makeIndex(s.Entries)
}

// makeIndex makes the manifest.json of an image holding exactly entries,
// and its static simple index's keys; the manifest is marshalled while
// the keys are made. Both are made afresh at every bake, however small
// the delta; the pages only when asked.
func (c Content) makeIndex(entries []wheelhouse.Entry) (*index, error) {
	var m []byte
	var merr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		m, merr = wheelhouse.MarshalManifest(entries)
	}()
	static, err := wheelhouse.NewStaticIndex(entries)
	var keys pageKeys
	if err == nil {
		keys = pageKeys{Root: static.RootKey(), Projects: map[string]string{}}
		for _, name := range static.Projects() {
			keys.Projects[name] = static.ProjectKey(name)
		}
	}
	<-done
	if merr != nil {
		return nil, fmt.Errorf("writing the image's manifest: %w", merr)
	}
	if err != nil {
		return nil, err
	}
	return &index{
		manifest: DataFile(path.Join(c.dir(), wheelhouse.ManifestName), 0o644, m),
		static:   static,
		keys:     keys,
		dir:      c.dir(),
	}, nil
}

// Indexes are images' manifest.json and static simple index, made in
// the background while a bake reads the image it refreshes and plans:
// they depend on the images' entries alone, and on a refresh they are
// most of what is made rather than copied.
type Indexes struct {
	made map[string]*made
}

type made struct {
	platform string
	entries  []wheelhouse.Entry
	done     chan struct{}
	index    *index
	err      error
}

// MakeIndexes starts making, for each platform, the manifest.json and
// static simple index of the image holding the files of entries that
// platform installs (the Entries a plan of entries gives its Stack).
// Every platform's are made at once; Wait waits for them all.
func (c Content) MakeIndexes(entries []wheelhouse.Entry, platforms []string) *Indexes {
	x := &Indexes{made: map[string]*made{}}
	var todo []*made
	for _, p := range platforms {
		if x.made[p] == nil {
			m := &made{platform: p, done: make(chan struct{})}
			x.made[p] = m
			todo = append(todo, m)
		}
	}
	// Even the sorting of the entries by platform is done in the
	// background: the caller goes on to read the image it refreshes.
	go func() {
		pure, plat, err := split(entries, platforms)
		for _, m := range todo {
			if err != nil {
				// MakePlan reports it; BuildStacks is not reached.
				m.err = err
				close(m.done)
				continue
			}
			go func() {
				defer close(m.done)
				m.entries = imageEntries(pure, plat[m.platform])
				m.index, m.err = c.makeIndex(m.entries)
			}()
		}
	}()
	return x
}

// Wait waits until every index started is made.
func (x *Indexes) Wait() {
	if x == nil {
		return
	}
	for _, m := range x.made {
		<-m.done
	}
}

// index returns the index made for platform, once made, if it was made
// from exactly entries and without error.
func (x *Indexes) index(platform string, entries []wheelhouse.Entry) (*index, bool) {
	if x == nil || x.made[platform] == nil {
		return nil, false
	}
	m := x.made[platform]
	<-m.done
	if m.err != nil || !slices.EqualFunc(m.entries, entries, wheelhouse.Entry.Equal) {
		return nil, false
	}
	return m.index, true
}

// IndexFiles are the larder-index layer: the binary and its configuration.
func IndexFiles(binary string, config []byte) ([]File, error) {
	sum, size, err := wheelhouse.HashFile(binary)
	if err != nil {
		return nil, fmt.Errorf("reading the larder-index binary: %w", err)
	}
	return indexFiles(binary, config, sum, size), nil
}

func indexFiles(binary string, config []byte, sum string, size int64) []File {
	return []File{
		{Path: IndexBinaryPath, Mode: 0o755, Source: binary, Size: size, SHA256: sum},
		DataFile(IndexConfigPath, 0o644, config),
	}
}
