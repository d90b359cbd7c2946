package wheelhouse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/larder-build/larder/resolver/simple"
)

// SimpleDir is the folder of the static simple index inside a store.
const SimpleDir = "simple"

// APIVersion is the simple repository API version the static index and
// the server speak (PEP 691 with the PEP 700 additions).
const APIVersion = "1.1"

// WriteStatic writes the store's simple index as static files: simple/
// index.html and index.json list the projects, and simple/<project>/
// index.html (PEP 503) and index.json (PEP 691) list each project's files
// with links relative to the page, their sha256 and, for wheels, their
// PEP 658 metadata. pip reads it with --index-url file://<store>/simple/
// and no server. The output is a function of the manifest alone, every
// file is replaced atomically, only changed files are rewritten, and
// pages of projects no longer in the store are removed.
//
// Processes sharing the store write it one at a time, under the lock
// Commit takes, from the manifest on disk (with this Store's pending
// changes committed first): the index then lists what the manifest lists,
// whoever added it, and no writer removes another's temporary page.
//
// Pages are written in the one format resolver/simple writes. Once ctx
// ends, no further page is started and the project list is not written,
// so that it never links to a page that is missing; pages already written
// are whole, and the next WriteStatic completes the index.
func WriteStatic(ctx context.Context, s *Store) error {
	release, err := s.lockManifest()
	if err != nil {
		return fmt.Errorf("writing the static index: %w", err)
	}
	defer release()
	if err := s.commitLocked(); err != nil {
		return fmt.Errorf("writing the static index: %w", err)
	}
	// No page is written through a link in place of simple/ or of a
	// project's folder.
	if err := s.CheckFolders(); err != nil {
		return fmt.Errorf("writing the static index: %w", err)
	}
	root := filepath.Join(s.dir, SimpleDir)
	if err := os.MkdirAll(root, FolderMode); err != nil {
		return fmt.Errorf("writing the static index: %w", err)
	}
	x, err := NewStaticIndex(s.Entries())
	if err != nil {
		return err
	}
	// Project pages first and the list last, so that the list never links
	// to a page that is not there yet.
	if err := writeProjects(ctx, root, x.names, x.projects); err != nil {
		return err
	}
	if err := writeIfChanged(filepath.Join(root, "index.html"), rootHTML(x.names)); err != nil {
		return err
	}
	if err := writeIfChanged(filepath.Join(root, "index.json"), rootJSON(x.names)); err != nil {
		return err
	}
	return s.removeObsolete(x.projects)
}

// Page is one file of the static simple index.
type Page struct {
	// Path is relative to the store, with slashes: "simple/index.html",
	// "simple/<project>/index.json".
	Path string
	Data []byte
}

// StaticPages returns the static simple index of a store holding exactly
// entries, as WriteStatic writes it, sorted by path: for an image that
// holds a subset of a store.
func StaticPages(entries []Entry) ([]Page, error) {
	x, err := NewStaticIndex(entries)
	if err != nil {
		return nil, err
	}
	return x.Pages(), nil
}

// staticWriters is how many project pages are written at once: creating
// files is the cost on some file systems, and a few writers overlap it.
const staticWriters = 4

// writeProjects writes every project's pages, staticWriters at a time,
// and stops starting new ones at the first error or when ctx ends.
func writeProjects(ctx context.Context, root string, names []string, projects map[string][]Entry) error {
	err := forEachLimit(ctx, staticWriters, names, func(name string) error {
		return writeProject(filepath.Join(root, name), name, projects[name])
	})
	if err != nil && err == ctx.Err() {
		return fmt.Errorf("writing the static index: %w", err)
	}
	return err // writeProject's, which says what it was writing
}

// writeProject writes the PEP 503 and PEP 691 pages of one project.
func writeProject(dir, name string, files []Entry) error {
	if err := os.MkdirAll(dir, FolderMode); err != nil {
		return fmt.Errorf("writing the static index: %w", err)
	}
	if err := writeIfChanged(filepath.Join(dir, "index.html"), projectPage(simple.HTML, name, files)); err != nil {
		return err
	}
	return writeIfChanged(filepath.Join(dir, "index.json"), projectPage(simple.JSON, name, files))
}

// ValidProjectDir reports whether a normalized project name is safe as a
// single folder name.
func ValidProjectDir(name string) bool {
	if name == "" || name == "." || name == ".." || strings.HasPrefix(name, ".") {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// removeObsolete deletes pages of projects that left the store and
// leftovers of interrupted writes, through an *os.Root of simple/: never
// anything outside it.
func (s *Store) removeObsolete(projects map[string][]Entry) error {
	root, err := s.openFolder(SimpleDir)
	if err != nil {
		return fmt.Errorf("writing the static index: %w", err)
	}
	defer root.Close()
	dirents, err := readRootDir(root)
	if err != nil {
		return fmt.Errorf("writing the static index: %w", err)
	}
	for _, d := range dirents {
		name := d.Name()
		if name == "index.html" || name == "index.json" {
			continue
		}
		if _, ok := projects[name]; ok && d.IsDir() {
			continue
		}
		if err := root.RemoveAll(name); err != nil {
			return fmt.Errorf("writing the static index: removing %s: %w", name, err)
		}
	}
	return nil
}

func writeIfChanged(name string, data []byte) error {
	old, err := os.ReadFile(name)
	if err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("writing the static index: %w", err)
	}
	// Without the fsync: readers still see the old page or the new one,
	// never a torn one, but a crash may lose a page. Pages are derived from
	// the manifest and rewritten by the next WriteStatic whenever they
	// differ, and a thousand fsyncs would cost a large fetch a second.
	write := func(w io.Writer) error { _, err := w.Write(data); return err }
	if err := WriteAtomic(name, 0o644, false, write); err != nil {
		return fmt.Errorf("writing the static index: %w", err)
	}
	return nil
}

// fileHref is a file's link from a project page: relative, so that the
// store works wherever it is mounted, from file:// or over HTTP.
func fileHref(filename string) string {
	return "../../" + FilesDir + "/" + url.PathEscape(filename)
}

func rootHTML(names []string) []byte {
	var b bytes.Buffer
	simple.WriteProjectList(&b, simple.HTML, APIVersion, names) // a buffer takes every write
	return b.Bytes()
}

func rootJSON(names []string) []byte {
	var b bytes.Buffer
	simple.WriteProjectList(&b, simple.JSON, APIVersion, names)
	return b.Bytes()
}

// projectPage renders one form of a project's page; files are sorted by
// name.
func projectPage(form simple.Format, name string, files []Entry) []byte {
	var versions []string
	seen := map[string]bool{}
	for _, e := range files {
		if !seen[e.Version] && e.Version != "" {
			seen[e.Version] = true
			versions = append(versions, e.Version)
		}
	}
	sort.Strings(versions)
	var b bytes.Buffer
	w := simple.NewProjectWriter(&b, form, name, APIVersion, slices.Values(versions))
	for _, e := range files {
		f := simple.File{Filename: e.Filename, URL: fileHref(e.Filename), Hashes: map[string]string{"sha256": e.SHA256},
			RequiresPython: e.RequiresPython, Size: e.Size, UploadTime: e.UploadTime}
		if e.IsWheel() && e.MetadataSHA256 != "" {
			f.CoreMetadata, f.MetadataHashes = true, map[string]string{"sha256": e.MetadataSHA256}
		}
		w.File(&f) // a buffer takes every write
	}
	w.Close()
	return b.Bytes()
}
