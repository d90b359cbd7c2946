package index

import (
	"fmt"
	"strings"

	"github.com/larder-build/larder/resolver/simple"
)

// File is one distribution file listed on a project page.
type File = simple.File

// Page is the listing of one project on one index.
type Page struct {
	Name     string // as the index spells it
	Index    string // the index URL that served it
	URL      string // the page URL after redirects
	Files    []File
	Versions []string // PEP 700; may be empty
}

// MalformedError reports an index page that cannot be understood.
type MalformedError = simple.MalformedError

// acceptHeader prefers JSON, as pip and uv do.
const acceptHeader = simple.Accept

// maxPageFiles bounds the files one project page may list. A file takes
// some 450 bytes once parsed, so a page of maxPageSize holding nothing
// but short anchors (four million of them) took 1.9 GB; this many take
// about 110 MB, and the largest projects on PyPI list tens of thousands.
const maxPageFiles = 250_000

// parsePage decodes a project page as simple.ParseProject does, refusing
// a page of more than maxPageFiles files or with a sha256 that is not 64
// hex digits, and leaving out the files whose URL is not http or https
// (file:, ftp:, javascript:): none of the files of an index reached over
// HTTP can point into the local disk or elsewhere. A page read from a
// file: URL may list file: URLs (fileSchemeAllowed).
func parsePage(pageURL, contentType string, body []byte) (*Page, error) {
	// The codec's URLs are parsed and printed again: their schemes are
	// lower-case.
	pageScheme, _, _ := strings.Cut(pageURL, ":")
	pageScheme = strings.ToLower(pageScheme)
	n := 0
	proj, err := simple.ParseProjectFunc(pageURL, contentType, body, func(f *simple.File) (bool, error) {
		if n++; n > maxPageFiles {
			return false, fmt.Errorf("lists more than %d files", maxPageFiles)
		}
		for _, h := range []string{f.SHA256(), f.MetadataHashes["sha256"]} {
			if h != "" && !simple.ValidSHA256(h) { // lower-cased by the codec
				return false, fmt.Errorf("%s: sha256 %q is not 64 hex digits", f.Filename, h)
			}
		}
		scheme, _, _ := strings.Cut(f.URL, ":")
		return fileSchemeAllowed(pageScheme, scheme), nil
	})
	if err != nil {
		return nil, err
	}
	return &Page{URL: pageURL, Name: proj.Name, Versions: proj.Versions, Files: proj.Files}, nil
}

// fileSchemeAllowed reports whether a page read at a URL of scheme page
// may list a file at a URL of scheme file: http and https always, file:
// only on a page that itself came from a file: URL (a static index on
// the disk, such as the wheelhouse's simple/ tree, links its files
// relatively), never from an index reached over the network.
func fileSchemeAllowed(page, file string) bool {
	return file == "http" || file == "https" || file == "file" && page == "file"
}

// parseProjectList reads the root page of an index: PEP 691's "projects"
// or the anchors' text of PEP 503.
func parseProjectList(contentType string, body []byte) ([]string, error) {
	return simple.ParseProjectList(contentType, body)
}
