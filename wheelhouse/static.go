package wheelhouse

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
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
func WriteStatic(s *Store) error {
	release, err := s.lockManifest()
	if err != nil {
		return fmt.Errorf("writing the static index: %w", err)
	}
	defer release()
	if err := s.commitLocked(); err != nil {
		return fmt.Errorf("writing the static index: %w", err)
	}
	root := filepath.Join(s.dir, SimpleDir)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("writing the static index: %w", err)
	}
	projects := s.Projects()
	names := make([]string, 0, len(projects))
	for name := range projects {
		if !validProjectDir(name) {
			return fmt.Errorf("writing the static index: project name %q cannot be a folder", name)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	// Project pages first and the list last, so that the list never links
	// to a page that is not there yet.
	// Creating files is the cost on some file systems: a few writers at
	// once overlap it.
	work := make(chan string)
	errs := make(chan error, staticWriters)
	var wg sync.WaitGroup
	for range staticWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var first error
			for name := range work {
				if first == nil {
					first = writeProject(filepath.Join(root, name), name, projects[name])
				}
			}
			errs <- first
		}()
	}
	for _, name := range names {
		work <- name
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	if err := writeIfChanged(filepath.Join(root, "index.html"), rootHTML(names)); err != nil {
		return err
	}
	b, err := rootJSON(names)
	if err != nil {
		return err
	}
	if err := writeIfChanged(filepath.Join(root, "index.json"), b); err != nil {
		return err
	}
	return removeObsolete(root, projects)
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
	projects := map[string][]Entry{}
	for _, e := range entries {
		projects[e.Project] = append(projects[e.Project], e)
	}
	names := make([]string, 0, len(projects))
	for name, files := range projects {
		if !validProjectDir(name) {
			return nil, fmt.Errorf("writing the static index: project name %q cannot be a folder", name)
		}
		sort.Slice(files, func(i, j int) bool { return files[i].Filename < files[j].Filename })
		names = append(names, name)
	}
	sort.Strings(names)
	rj, err := rootJSON(names)
	if err != nil {
		return nil, err
	}
	pages := []Page{{SimpleDir + "/index.html", rootHTML(names)}, {SimpleDir + "/index.json", rj}}
	for _, name := range names {
		pj, err := projectJSON(name, projects[name])
		if err != nil {
			return nil, err
		}
		dir := SimpleDir + "/" + name + "/"
		pages = append(pages, Page{dir + "index.html", projectHTML(name, projects[name])}, Page{dir + "index.json", pj})
	}
	sort.Slice(pages, func(i, j int) bool { return pages[i].Path < pages[j].Path })
	return pages, nil
}

// staticWriters is how many project pages are written at once.
const staticWriters = 4

// writeProject writes the PEP 503 and PEP 691 pages of one project.
func writeProject(dir, name string, files []Entry) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing the static index: %w", err)
	}
	if err := writeIfChanged(filepath.Join(dir, "index.html"), projectHTML(name, files)); err != nil {
		return err
	}
	b, err := projectJSON(name, files)
	if err != nil {
		return err
	}
	return writeIfChanged(filepath.Join(dir, "index.json"), b)
}

// validProjectDir reports whether a normalized project name is safe as a
// single folder name.
func validProjectDir(name string) bool {
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
// leftovers of interrupted writes.
func removeObsolete(root string, projects map[string][]Entry) error {
	dirents, err := os.ReadDir(root)
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
		if err := os.RemoveAll(filepath.Join(root, name)); err != nil {
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
	b.WriteString("<!DOCTYPE html>\n<html>\n  <head>\n")
	fmt.Fprintf(&b, "    <meta name=\"pypi:repository-version\" content=\"%s\">\n", APIVersion)
	b.WriteString("    <title>Simple index</title>\n  </head>\n  <body>\n")
	for _, n := range names {
		fmt.Fprintf(&b, "    <a href=\"%s/\">%s</a>\n", html.EscapeString(url.PathEscape(n)), html.EscapeString(n))
	}
	b.WriteString("  </body>\n</html>\n")
	return b.Bytes()
}

func projectHTML(name string, files []Entry) []byte {
	var b bytes.Buffer
	title := html.EscapeString(name)
	b.WriteString("<!DOCTYPE html>\n<html>\n  <head>\n")
	fmt.Fprintf(&b, "    <meta name=\"pypi:repository-version\" content=\"%s\">\n", APIVersion)
	fmt.Fprintf(&b, "    <title>Links for %s</title>\n  </head>\n  <body>\n    <h1>Links for %s</h1>\n", title, title)
	for _, e := range files {
		fmt.Fprintf(&b, "    <a href=\"%s#sha256=%s\"", html.EscapeString(fileHref(e.Filename)), html.EscapeString(e.SHA256))
		if e.RequiresPython != "" {
			fmt.Fprintf(&b, " data-requires-python=\"%s\"", html.EscapeString(e.RequiresPython))
		}
		if e.IsWheel() && e.MetadataSHA256 != "" {
			// Only the PEP 714 name. pip 22.3 to 23.0 (Debian 12's pip is
			// 23.0.1) read the old data-dist-info-metadata and then reject
			// every file whose metadata Name is spelled unlike the
			// requirement ("Django" for django==5.2), so the old name
			// would break them; without it they read the wheel itself.
			fmt.Fprintf(&b, " data-core-metadata=\"%s\"", html.EscapeString("sha256="+e.MetadataSHA256))
		}
		fmt.Fprintf(&b, ">%s</a><br>\n", html.EscapeString(e.Filename))
	}
	b.WriteString("  </body>\n</html>\n")
	return b.Bytes()
}

type jsonMeta struct {
	APIVersion string `json:"api-version"`
}

type jsonRoot struct {
	Meta     jsonMeta      `json:"meta"`
	Projects []jsonProject `json:"projects"`
}

type jsonProject struct {
	Name string `json:"name"`
}

type jsonPage struct {
	Meta     jsonMeta   `json:"meta"`
	Name     string     `json:"name"`
	Versions []string   `json:"versions"`
	Files    []jsonFile `json:"files"`
}

type jsonFile struct {
	Filename       string            `json:"filename"`
	URL            string            `json:"url"`
	Hashes         map[string]string `json:"hashes"`
	RequiresPython string            `json:"requires-python,omitempty"`
	// Only the PEP 714 name: pip 22.3 to 23.1 crash on the old JSON key.
	CoreMetadata any    `json:"core-metadata,omitempty"`
	Size         int64  `json:"size"`
	UploadTime   string `json:"upload-time,omitempty"`
}

func rootJSON(names []string) ([]byte, error) {
	r := jsonRoot{Meta: jsonMeta{APIVersion}, Projects: []jsonProject{}}
	for _, n := range names {
		r.Projects = append(r.Projects, jsonProject{Name: n})
	}
	return marshalPage(r)
}

func projectJSON(name string, files []Entry) ([]byte, error) {
	p := jsonPage{Meta: jsonMeta{APIVersion}, Name: name, Versions: []string{}, Files: []jsonFile{}}
	seen := map[string]bool{}
	for _, e := range files {
		if !seen[e.Version] && e.Version != "" {
			seen[e.Version] = true
			p.Versions = append(p.Versions, e.Version)
		}
		f := jsonFile{Filename: e.Filename, URL: fileHref(e.Filename), Hashes: map[string]string{"sha256": e.SHA256},
			RequiresPython: e.RequiresPython, Size: e.Size}
		if e.IsWheel() && e.MetadataSHA256 != "" {
			f.CoreMetadata = map[string]string{"sha256": e.MetadataSHA256}
		}
		if !e.UploadTime.IsZero() {
			f.UploadTime = e.UploadTime.UTC().Format("2006-01-02T15:04:05.000000Z")
		}
		p.Files = append(p.Files, f)
	}
	sort.Strings(p.Versions)
	return marshalPage(p)
}

func marshalPage(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // ">=3.8", not "\u003e=3.8"
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("writing the static index: %w", err)
	}
	return b.Bytes(), nil
}
