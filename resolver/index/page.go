package index

import (
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

// parsePage decodes a project page by its content type.
func parsePage(pageURL, contentType string, body []byte) (*Page, error) {
	p, err := simple.ParseProject(pageURL, contentType, body)
	if err != nil {
		return nil, err
	}
	return &Page{Name: p.Name, URL: pageURL, Files: p.Files, Versions: p.Versions}, nil
}

// parseProjectList reads the root page of an index: PEP 691's "projects"
// or the anchors' text of PEP 503.
func parseProjectList(contentType string, body []byte) ([]string, error) {
	return simple.ParseProjectList(contentType, body)
}
