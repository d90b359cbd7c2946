package layers

import (
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
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
	// Pages names the layer holding the image's static simple index as
	// it was when the layer was made; nil in images baked by larder
	// before it (their delta holds every page).
	Pages *PagesLayer `json:"pages,omitempty"`
}

// PagesLayer names an image's pages layer. What it holds is not
// recorded in the image: a refresh knows it from its own record of the
// layer, or reads the layer.
type PagesLayer struct {
	// DiffID finds the layer in the image.
	DiffID string `json:"diff_id"`
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
	if l.Pages != nil {
		if _, err := v1.NewHash(l.Pages.DiffID); err != nil {
			return nil, fmt.Errorf("reading the %s label: pages layer: %w", LayoutLabel, err)
		}
	}
	return &l, nil
}
