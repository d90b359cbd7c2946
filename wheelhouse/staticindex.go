package wheelhouse

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/larder-build/larder/internal/par"
	"github.com/larder-build/larder/resolver/simple"
)

// StaticIndex is the static simple index of a store holding exactly a set
// of entries, rendered page by page when asked. Each group of pages (the
// root pages, or one project's) has a key: a digest of everything its
// bytes are made from, this version's way of rendering included. A group
// whose key is unchanged renders to unchanged bytes, so that a refresh
// that kept most pages renders only the others.
type StaticIndex struct {
	names    []string           // sorted
	projects map[string][]Entry // each sorted by filename
}

// NewStaticIndex groups entries by project for the static index.
func NewStaticIndex(entries []Entry) (*StaticIndex, error) {
	x := &StaticIndex{projects: map[string][]Entry{}}
	for _, e := range entries {
		x.projects[e.Project] = append(x.projects[e.Project], e)
	}
	x.names = make([]string, 0, len(x.projects))
	for name, files := range x.projects {
		if !ValidProjectDir(name) {
			return nil, fmt.Errorf("writing the static index: project name %q cannot be a folder", name)
		}
		sort.Slice(files, func(i, j int) bool { return files[i].Filename < files[j].Filename })
		x.names = append(x.names, name)
	}
	sort.Strings(x.names)
	return x, nil
}

// Projects returns the names of the projects, sorted.
func (x *StaticIndex) Projects() []string { return slices.Clone(x.names) }

// Has reports whether the index has a page for project name.
func (x *StaticIndex) Has(name string) bool { return x.projects[name] != nil }

// RootPages returns the pages listing every project: simple/index.html
// and simple/index.json.
func (x *StaticIndex) RootPages() []Page {
	return []Page{{SimpleDir + "/index.html", rootHTML(x.names)}, {SimpleDir + "/index.json", rootJSON(x.names)}}
}

// ProjectPages returns a project's pages, its index.html and index.json;
// none for a project the index does not have.
func (x *StaticIndex) ProjectPages(name string) []Page {
	files := x.projects[name]
	if files == nil {
		return nil
	}
	dir := SimpleDir + "/" + name + "/"
	return []Page{{dir + "index.html", projectPage(simple.HTML, name, files)}, {dir + "index.json", projectPage(simple.JSON, name, files)}}
}

// Pages returns every page, sorted by path, rendered on every core.
func (x *StaticIndex) Pages() []Page {
	pages := make([]Page, 2+2*len(x.names))
	copy(pages, x.RootPages())
	par.For(len(x.names), 64, 0, func(i int) {
		copy(pages[2+2*i:], x.ProjectPages(x.names[i]))
	})
	slices.SortFunc(pages, func(a, b Page) int { return strings.Compare(a.Path, b.Path) })
	return pages
}

// RootKey is the key of the root pages.
func (x *StaticIndex) RootKey() string {
	h := keyHash()
	for _, name := range x.names {
		keyField(h, name)
	}
	return keySum(h)
}

// ProjectKey is the key of a project's pages ("" for a project the index
// does not have). It covers every field of an entry that projectPage
// reads.
func (x *StaticIndex) ProjectKey(name string) string {
	files := x.projects[name]
	if files == nil {
		return ""
	}
	h := keyHash()
	keyField(h, name)
	for _, e := range files {
		keyField(h, e.Filename)
		keyField(h, e.Version)
		keyField(h, e.SHA256)
		keyField(h, strconv.FormatInt(e.Size, 10))
		keyField(h, e.MetadataSHA256)
		keyField(h, e.RequiresPython)
		keyField(h, e.UploadTime.UTC().Format(time.RFC3339Nano))
	}
	return keySum(h)
}

// pageKeyVersion versions keys: bump it whenever pages render otherwise
// from the same entries (TestPageRenderingIsPinned fails until it is), or
// keys are made otherwise.
const pageKeyVersion = "larder-page-key-1"

// keyHash starts a key with its version and the fingerprint of this
// version's rendering.
func keyHash() hash.Hash {
	h := sha256.New()
	h.Write([]byte(pageKeyVersion + "\n"))
	h.Write(renderFingerprint())
	return h
}

// keyField adds a length-prefixed field to a key.
func keyField(h hash.Hash, s string) {
	var b [24]byte
	h.Write(strconv.AppendInt(b[:0], int64(len(s)), 10))
	h.Write([]byte{':'})
	h.Write([]byte(s))
}

// keySum is a key's 128 bits, in hex.
func keySum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)[:16]) }

// renderFingerprint is the sha256 of the pages of a probe index that sets
// every field a page shows (characters HTML and JSON escape, text beyond
// ASCII, a time in another zone, versions whose string and PEP 440 orders
// differ, two files of one version, a wheel with metadata, sdists with
// and without, a size of 0): a change to how pages are rendered that
// shows on it changes every key, so that pages kept from another
// version's rendering are not taken for this one's. pageKeyVersion covers
// the changes it would miss.
var renderFingerprint = sync.OnceValue(func() []byte {
	h := sha256.New()
	for _, p := range probePages() {
		h.Write([]byte(p.Path))
		h.Write([]byte{0})
		h.Write(p.Data)
		h.Write([]byte{0})
	}
	return h.Sum(nil)
})

// probePages are the pages of the probe index.
func probePages() []Page {
	t := time.Date(2024, 2, 29, 23, 59, 58, 123456789, time.FixedZone("probe", -5*3600-30))
	sha := func(c string) string { return strings.Repeat(c, 64) }
	probe := []Entry{
		{Filename: "p_q-1.9-py3-none-any.whl", Project: "p-q", Version: "1.9", SHA256: sha("a"), Size: 12345,
			MetadataSHA256: sha("b"), RequiresPython: `>=3.8,<4 "&'<>`, UploadTime: t},
		{Filename: "p_q-1.9.tar.gz", Project: "p-q", Version: "1.9", SHA256: sha("c"), Size: 0, MetadataSHA256: sha("d")},
		{Filename: "p_q-1.10+local.tar.gz", Project: "p-q", Version: "1.10+local", SHA256: sha("e"), Size: 1, RequiresPython: "\u00e9\u2265\U0001F600"},
		{Filename: "r-2.0-cp312-abi3-manylinux_2_28_x86_64.whl", Project: "r", Version: "2.0", SHA256: sha("f"), Size: 1 << 40},
	}
	x, err := NewStaticIndex(probe)
	if err != nil {
		panic(err) // a constant input
	}
	return x.Pages()
}
