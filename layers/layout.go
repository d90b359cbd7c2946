package layers

import (
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/larder-build/larder/wheelhouse"
)

// LayoutLabel is the image config label that records the Layout, so that
// the next bake keeps the buckets of the image it refreshes.
const LayoutLabel = "dev.larder.layout"

// layoutVersion is the format of the recorded Layout.
const layoutVersion = 1

// PureSet names the bucket set of files every platform installs as they
// are (pure-Python wheels and sdists); the other sets are named by their
// platform ("linux/amd64").
const PureSet = "pure"

// Layout is how an image's wheelhouse is spread over bucket layers, and
// what its pages layer holds.
type Layout struct {
	Version int            `json:"version"`
	Buckets []BucketRecord `json:"buckets"`
	// Pages is the layer holding the image's static simple index as it
	// was when the buckets were laid out; nil in images baked by larder
	// before it (their delta holds every page).
	Pages *PagesRecord `json:"pages,omitempty"`
}

// PagesRecord describes an image's pages layer: what each of its pages
// holds, so that a refresh puts only the pages that differ into its delta
// and keeps the layer.
type PagesRecord struct {
	// DiffID finds the layer in the image.
	DiffID string `json:"diff_id"`
	// Root is the digest of the root pages (simple/index.html and
	// simple/index.json).
	Root string `json:"root"`
	// Projects maps each project with pages in the layer to the digest
	// of its pages.
	Projects map[string]string `json:"projects"`
}

// BucketRecord describes one bucket layer of an image.
type BucketRecord struct {
	Set   string `json:"set"`
	Index int    `json:"index"`
	Count int    `json:"count"`
	// DiffID finds the layer in the image.
	DiffID string       `json:"diff_id"`
	Files  []FileRecord `json:"files"`
}

// FileRecord is a wheelhouse file in a bucket (its .metadata sidecar goes
// with it).
type FileRecord struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// Metadata says a PEP 658 sidecar went with the file.
	Metadata bool `json:"metadata,omitempty"`
}

// String names the bucket as history and plans show it: "pure 3/8".
func (b BucketRecord) String() string { return fmt.Sprintf("%s %d/%d", b.Set, b.Index+1, b.Count) }

// Encode returns the label value.
func (l *Layout) Encode() (string, error) {
	b, err := json.Marshal(l)
	if err != nil {
		return "", fmt.Errorf("recording the layer layout: %w", err)
	}
	return string(b), nil
}

// DecodeLayout reads a label value. A layout of another format version is
// an error: the caller bakes afresh.
func DecodeLayout(s string) (*Layout, error) {
	var l Layout
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, fmt.Errorf("reading the %s label: %w", LayoutLabel, err)
	}
	if l.Version != layoutVersion {
		return nil, fmt.Errorf("reading the %s label: layout version %d is not %d", LayoutLabel, l.Version, layoutVersion)
	}
	for _, b := range l.Buckets {
		if b.Count < 1 || b.Index < 0 || b.Index >= b.Count || b.Set == "" || b.DiffID == "" {
			return nil, fmt.Errorf("reading the %s label: bucket %q %d/%d is not valid", LayoutLabel, b.Set, b.Index, b.Count)
		}
	}
	if err := l.Pages.check(); err != nil {
		return nil, fmt.Errorf("reading the %s label: pages layer: %w", LayoutLabel, err)
	}
	return &l, nil
}

// check reports a record that could not have been written by a bake: its
// names become paths of whiteouts in the next delta.
func (r *PagesRecord) check() error {
	if r == nil {
		return nil
	}
	if _, err := v1.NewHash(r.DiffID); err != nil {
		return err
	}
	if !validPagesDigest(r.Root) {
		return fmt.Errorf("root digest %q is not valid", r.Root)
	}
	for name, d := range r.Projects {
		if !wheelhouse.ValidProjectDir(name) || !validPagesDigest(d) {
			return fmt.Errorf("project %q with digest %q is not valid", name, d)
		}
	}
	return nil
}
