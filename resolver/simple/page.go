package simple

import (
	"fmt"
	"time"
)

// Media types of the simple repository API (PEP 691).
const (
	MediaTypeJSON = "application/vnd.pypi.simple.v1+json"
	MediaTypeHTML = "application/vnd.pypi.simple.v1+html"
	// Accept prefers JSON, as pip and uv do, and takes plain HTML from
	// indexes that predate PEP 691.
	Accept = MediaTypeJSON + ", " + MediaTypeHTML + ";q=0.2, text/html;q=0.01"
)

// Format is one of the two forms of a page.
type Format int

// The forms of a page.
const (
	HTML Format = iota // PEP 503
	JSON               // PEP 691
)

// File is one distribution file listed on a project page.
type File struct {
	Filename string
	// URL is the link as the page gives it when writing; parsed, it is
	// absolute and without its fragment.
	URL            string
	Hashes         map[string]string // algorithm -> lowercase hex digest
	RequiresPython string
	Yanked         bool
	YankedReason   string
	// CoreMetadata reports that URL+".metadata" serves the file's core
	// metadata (PEP 658/714); MetadataHashes may hold its digests.
	CoreMetadata   bool
	MetadataHashes map[string]string
	Size           int64 // -1 when the index does not say
	UploadTime     time.Time
}

// SHA256 returns the file's sha256 digest, or "" when the index gave none.
func (f File) SHA256() string { return f.Hashes["sha256"] }

// Project is the listing of one project on one index.
type Project struct {
	Name       string // as the index spells it; "" when an HTML page
	APIVersion string // "" when an HTML page does not say
	Files      []File
	Versions   []string // PEP 700; may be empty
}

// MalformedError reports an index page that cannot be understood.
type MalformedError struct {
	URL string
	Err error
}

func (e *MalformedError) Error() string {
	return fmt.Sprintf("malformed index page %s: %v", e.URL, e.Err)
}

func (e *MalformedError) Unwrap() error { return e.Err }

// ValidSHA256 reports whether s is a sha256 as larder keeps it: 64
// lower-case hex digits, as pages' hashes are once parsed, and as
// manifests, locks' file records and OCI digests write them. A hash is
// also a file name in larder's caches, so nothing else may pass.
func ValidSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
