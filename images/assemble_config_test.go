package images

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/larder-build/larder/layers"
)

// rawCore is an image given by its raw config and manifest bytes, as a
// registry or a layout serves it (ConfigFile parses the bytes).
type rawCore struct {
	base      v1.Image
	cfg, man  []byte
	cfgDigest v1.Hash
}

func (r *rawCore) RawConfigFile() ([]byte, error)      { return r.cfg, nil }
func (r *rawCore) RawManifest() ([]byte, error)        { return r.man, nil }
func (r *rawCore) MediaType() (types.MediaType, error) { return r.base.MediaType() }
func (r *rawCore) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if h == r.cfgDigest {
		return static.NewLayer(r.cfg, types.DockerConfigJSON), nil
	}
	return r.base.LayerByDigest(h)
}

// baseWithRawConfig is baseImage whose config bytes carry what edit adds
// to the "config" object (e.g. "Volumes": {}, which real images carry).
func baseWithRawConfig(t *testing.T, edit map[string]any) v1.Image {
	t.Helper()
	base := baseImage(t, "amd64")
	raw, err := base.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	c := doc["config"].(map[string]any)
	for k, v := range edit {
		c[k] = v
	}
	cfg, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	m, err := base.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	m = m.DeepCopy()
	d, n, _ := v1.SHA256(bytes.NewReader(cfg))
	m.Config.Digest, m.Config.Size = d, n
	man, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	img, err := partial.CompressedToImage(&rawCore{base: base, cfg: cfg, man: man, cfgDigest: d})
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img, validate.Fast); err != nil {
		t.Fatalf("the base itself is not whole: %v", err)
	}
	return img
}

// TestAnAssembledImagesConfigIsWhatItsBytesSay holds Assemble's image to
// its own bytes: its ConfigFile is its RawConfigFile parsed, as
// validate.Image checks, for bases whose configs json.Marshal would not
// write back as they are (empty objects and lists, bytes that are not
// UTF-8). Taking the config from the struct the bytes were marshalled
// from was tried twice for speed, and twice undone for this.
func TestAnAssembledImagesConfigIsWhatItsBytesSay(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit map[string]any
		ch   Changes
	}{
		{"a base with empty Volumes and ExposedPorts", map[string]any{"Volumes": map[string]any{}, "ExposedPorts": map[string]any{}},
			Changes{Labels: map[string]string{"a": "b"}, Created: time.Unix(1700000000, 0).UTC()}},
		{"a base with an empty Cmd", map[string]any{"Cmd": []any{}},
			Changes{Labels: map[string]string{"a": "b"}, Created: time.Unix(1700000000, 0).UTC()}},
		{"an env value that is not UTF-8", nil,
			Changes{Env: []string{"PIP_INDEX_URL=https://h/\xff/simple/"}, Created: time.Unix(1700000000, 0).UTC()}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			img, err := Assemble(baseWithRawConfig(t, tt.edit), nil, nil, tt.ch)
			if err != nil {
				t.Fatal(err)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			raw, err := img.RawConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			pcf, err := v1.ParseConfigFile(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(pcf, cf) {
				t.Errorf("ConfigFile() is not RawConfigFile() parsed:\n%+v\nwant\n%+v", cf.Config, pcf.Config)
			}
			if err := validate.Image(img, validate.Fast); err != nil {
				t.Errorf("validate.Image: %v", err)
			}
		})
	}
}

// TestFixGivesWhatMutateConfigFileGives holds fix, which marshals an
// assembled image's config once, to the bytes go-containerregistry's
// mutate.ConfigFile writes for the same image and config: the digests a
// bake gives do not depend on which of the two made them.
func TestFixGivesWhatMutateConfigFileGives(t *testing.T) {
	label := strings.Repeat(`{"name":"a\u00e9\"<b>","sha256":"0"}`, 2000)
	ociBase := func(t *testing.T) v1.Image {
		img, err := asOCI(baseImage(t, "arm64"), nil)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	withLayers := func(t *testing.T) v1.Image {
		base := baseImage(t, "amd64")
		ls, err := base.Layers()
		if err != nil {
			t.Fatal(err)
		}
		img, err := asOCI(base, ls)
		if err != nil {
			t.Fatal(err)
		}
		img, err = mutate.Append(img, mutate.Addendum{Layer: tarLayer(t, map[string]string{"x": "y"}),
			Annotations: map[string]string{LayerAnnotation: "delta"}})
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	withData := func(t *testing.T) v1.Image {
		img := withLayers(t)
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		if m.Config.Data != nil {
			t.Fatal("the base already carries its config's data")
		}
		raw, err := img.RawConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		m = m.DeepCopy()
		m.Config.Data = raw
		man, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		out, err := partial.CompressedToImage(&rawCore{base: img, cfg: raw, man: man, cfgDigest: m.Config.Digest})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, tt := range []struct {
		name string
		img  func(*testing.T) v1.Image
	}{
		{"an OCI image without layers", ociBase},
		{"an OCI image made of a Docker one, with a layer added", withLayers},
		{"an image whose manifest carries its config's data", withData},
		{"a Docker schema 2 image", func(t *testing.T) v1.Image { return baseImage(t, "amd64") }},
		{"an OCI image with a subject and annotations", func(t *testing.T) v1.Image {
			subject, err := ociBase(t).Digest()
			if err != nil {
				t.Fatal(err)
			}
			img := mutate.Annotations(ociBase(t), map[string]string{"org.example": "x"}).(v1.Image)
			return mutate.Subject(img, v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: subject, Size: 1}).(v1.Image)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			img := tt.img(t)
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			cf = cf.DeepCopy()
			if cf.Config.Labels == nil {
				cf.Config.Labels = map[string]string{}
			}
			cf.Config.Labels[layers.LayoutLabel] = label
			cf.Created = v1.Time{Time: time.Unix(1700000000, 5).In(time.FixedZone("x", 3600))}
			ls, err := img.Layers()
			if err != nil {
				t.Fatal(err)
			}
			got, err := fix(img, cf, ls)
			if err != nil {
				t.Fatal(err)
			}
			want, err := mutate.ConfigFile(img, cf)
			if err != nil {
				t.Fatal(err)
			}
			for _, part := range []struct {
				what      string
				got, want func() ([]byte, error)
			}{
				{"config", got.RawConfigFile, want.RawConfigFile},
				{"manifest", got.RawManifest, want.RawManifest},
			} {
				g, gerr := part.got()
				w, werr := part.want()
				if gerr != nil || werr != nil {
					t.Fatalf("%s: %v, %v", part.what, gerr, werr)
				}
				if !bytes.Equal(g, w) {
					t.Errorf("the %s differs from mutate's:\n%.300s\nwant\n%.300s", part.what, g, w)
				}
			}
			gd, _ := got.Digest()
			wd, _ := want.Digest()
			if gd != wd {
				t.Errorf("digest %s, mutate's %s", gd, wd)
			}
			if err := validate.Image(got, validate.Fast); err != nil {
				t.Errorf("validate.Image: %v", err)
			}
		})
	}
}

func TestFixRefusesAConfigThatIsNotAnImages(t *testing.T) {
	img := mutate.ConfigMediaType(empty.Image, "application/vnd.example.thing+json")
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fix(img, cf, nil); err == nil || !strings.Contains(err.Error(), "not an image config") {
		t.Fatalf("fix of an artifact's config: %v, want an error saying it is not an image config", err)
	}
}
