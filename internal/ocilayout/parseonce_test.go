//go:build unix

package ocilayout

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// layoutOf writes a layout whose index.json lists an image of layers
// layers (their blobs absent: only named) first and others-1 other
// manifests after it, and returns the image's digest and a layer's.
func layoutOf(t *testing.T, dir string, layers, others int) (img, layer v1.Hash) {
	t.Helper()
	cfg, _ := blobOf(t, dir, []byte(`{}`), types.OCIConfigJSON)
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: cfg}
	for i := range layers {
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: types.OCILayer, Size: 1,
			Digest: v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%064x", i+1)}})
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := blobOf(t, dir, raw, types.OCIManifestSchema1)
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{d}}
	for i := 1; i < others; i++ {
		idx.Manifests = append(idx.Manifests, v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: 100,
			Digest:      v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%064x", 1<<20+i)},
			Annotations: map[string]string{"org.opencontainers.image.ref.name": fmt.Sprint("tag", i)}})
	}
	if err := WriteIndex(dir, idx); err != nil {
		t.Fatal(err)
	}
	return d.Digest, m.Layers[len(m.Layers)-1].Digest
}

// TestAnOpenedLayoutParsesItsIndexAndManifestsOnce: an index opened from
// a layout answers Image from the index.json it parsed at Open, and an
// image answers LayerByDigest from the manifest it parsed once: what each
// costs does not grow with the number of tags in index.json or of layers
// in the manifest (each parsed index.json, or the manifest, again), and
// index.json changed or removed after Open is not read again.
func TestAnOpenedLayoutParsesItsIndexAndManifestsOnce(t *testing.T) {
	// allocs is what one Image and one LayerByDigest of a layout of that
	// many tags and layers allocate.
	allocs := func(t *testing.T, layers, others int) (image, layer float64) {
		dir := t.TempDir()
		h, lh := layoutOf(t, dir, layers, others)
		ii, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(dir, IndexFile)); err != nil {
			t.Fatal(err)
		}
		img, err := ii.Image(h)
		if err != nil {
			t.Fatalf("Image after index.json was removed: %v", err)
		}
		if _, err := img.LayerByDigest(lh); err != nil {
			t.Fatal(err)
		}
		image = testing.AllocsPerRun(10, func() {
			if _, err := ii.Image(h); err != nil {
				t.Fatal(err)
			}
		})
		layer = testing.AllocsPerRun(10, func() {
			if _, err := img.LayerByDigest(lh); err != nil {
				t.Fatal(err)
			}
		})
		return image, layer
	}
	smallImage, smallLayer := allocs(t, 1, 1)
	bigImage, _ := allocs(t, 1, 2000)
	_, bigLayer := allocs(t, 2000, 1)
	// The image's manifest is read and parsed at each Image: that much
	// is the same whatever the index holds.
	if bigImage > smallImage+20 {
		t.Errorf("Image allocates %.0f times with 2000 tags in index.json, %.0f with 1: it parses index.json again", bigImage, smallImage)
	}
	if bigLayer > smallLayer+20 {
		t.Errorf("LayerByDigest allocates %.0f times with 2000 layers, %.0f with 1: it parses the manifest again", bigLayer, smallLayer)
	}
}
