package index

import (
	"bytes"
	"fmt"
	"mime"
	"net/url"
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

// parsePage decodes a project page by its content type, as
// simple.ParseProject does, refusing a page of more than maxPageFiles
// files and leaving out the files whose URL is not http or https (file:,
// ftp:, javascript:): none of the files of an index reached over HTTP
// can point into the local disk or elsewhere. A page read from a file:
// URL may list file: URLs (fileSchemeAllowed).
func parsePage(pageURL, contentType string, body []byte) (*Page, error) {
	malformed := func(err error) error { return &MalformedError{URL: pageURL, Err: err} }
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil && contentType != "" {
		return nil, malformed(fmt.Errorf("content type %q: %w", contentType, err))
	}
	switch mt {
	case simple.MediaTypeJSON, simple.MediaTypeHTML, "text/html", "":
	default:
		return nil, malformed(fmt.Errorf("unexpected content type %q (want %s or text/html)", mt, simple.MediaTypeJSON))
	}
	base, err := url.Parse(pageURL)
	if err != nil {
		return nil, malformed(err)
	}
	p := &Page{URL: pageURL}
	n := 0
	h, err := simple.ScanProject(bytes.NewReader(body), contentType, base, func(f *simple.File, err error) error {
		if err != nil {
			return err
		}
		if n++; n > maxPageFiles {
			return fmt.Errorf("lists more than %d files", maxPageFiles)
		}
		for _, h := range []string{f.SHA256(), f.MetadataHashes["sha256"]} {
			if h != "" && !simple.ValidSHA256(h) { // lower-cased by the codec
				return fmt.Errorf("%s: sha256 %q is not 64 hex digits", f.Filename, h)
			}
		}
		if u, err := url.Parse(f.URL); err != nil || !fileSchemeAllowed(base.Scheme, u.Scheme) {
			return nil
		}
		p.Files = append(p.Files, *f)
		return nil
	}, nil)
	if err != nil {
		return nil, malformed(err)
	}
	// PEP 629: a major version not understood is refused; an HTML page
	// may leave it out.
	if mt == simple.MediaTypeJSON || h.APIVersion != "" {
		if major, _, _ := strings.Cut(h.APIVersion, "."); major != "1" {
			return nil, malformed(fmt.Errorf("api-version %q is not supported (want 1.x)", h.APIVersion))
		}
	}
	p.Name, p.Versions = h.Name, h.Versions
	return p, nil
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
