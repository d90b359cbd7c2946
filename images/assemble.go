package images

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/larder-build/larder/layers"
)

// MaxLayers is the most layers an image may have: Docker's overlay2
// driver refuses more than 125 lower folders, and a margin is kept for
// what users build on top.
const MaxLayers = 100

// LayerAnnotation names, on a layer's manifest descriptor, what larder
// put in it ("bucket pure 3/8", "index", "delta").
const LayerAnnotation = "dev.larder.layer"

// Changes is what larder adds to an image's configuration.
type Changes struct {
	// Env sets KEY=VALUE variables, replacing the base's of the same key.
	Env []string
	// Entrypoint is put before the base's entrypoint (once: a base that
	// already starts with it keeps its entrypoint).
	Entrypoint []string
	// Labels are added to the base's.
	Labels map[string]string
	// Created is the image's creation time, and that of its history
	// entries.
	Created time.Time
}

// Assemble stacks parts on base (an OCI image is made of a Docker one,
// with the same layer blobs) and applies the changes. A reused part is
// the layer of previous with the same diff ID. The result has at most
// MaxLayers layers.
func Assemble(base v1.Image, parts []layers.Part, previous v1.Image, ch Changes) (v1.Image, error) {
	baseLayers, err := base.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading the base image: %w", err)
	}
	if n := len(baseLayers) + len(parts); n > MaxLayers {
		return nil, &TooManyLayersError{Base: len(baseLayers), Larder: len(parts)}
	}
	baseCfg, err := base.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the base image's config: %w", err)
	}
	img, err := asOCI(base, baseLayers)
	if err != nil {
		return nil, err
	}
	ociLayers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading the base image: %w", err)
	}
	kept := layersByDiffID(previous)
	adds := make([]mutate.Addendum, 0, len(parts))
	history := slices.Clone(baseCfg.History)
	for _, p := range parts {
		var l v1.Layer = p.Layer
		if p.Reused {
			if previous == nil {
				return nil, fmt.Errorf("layer %s is to be kept from the previous image, and there is none", p.DiffID)
			}
			if l, err = kept(p.DiffID); err != nil {
				return nil, fmt.Errorf("finding %s of the previous image: %w", what(p), err)
			}
			l = withDiffID(l, p.DiffID)
		}
		h := v1.History{Created: v1.Time{Time: ch.Created}, CreatedBy: "larder bake", Comment: p.Comment}
		adds = append(adds, mutate.Addendum{Layer: l, History: h, Annotations: map[string]string{LayerAnnotation: what(p)}})
		history = append(history, h)
	}
	if img, err = mutate.Append(img, adds...); err != nil {
		return nil, fmt.Errorf("adding layers: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("adding layers: %w", err)
	}
	cf = cf.DeepCopy()
	cf.History = history
	cf.Created = v1.Time{Time: ch.Created}
	cf.Config.Env = setEnv(cf.Config.Env, ch.Env)
	if len(ch.Entrypoint) > 0 && !slices.Equal(cf.Config.Entrypoint[:min(len(cf.Config.Entrypoint), len(ch.Entrypoint))], ch.Entrypoint) {
		cf.Config.Entrypoint = append(slices.Clone(ch.Entrypoint), cf.Config.Entrypoint...)
	}
	if len(ch.Labels) > 0 {
		if cf.Config.Labels == nil {
			cf.Config.Labels = map[string]string{}
		}
		maps.Copy(cf.Config.Labels, ch.Labels)
	}
	ls := ociLayers
	for _, a := range adds {
		ls = append(ls, a.Layer)
	}
	return fix(img, cf, ls)
}

// layersByDiffID finds the layers of an image by diff ID, reading its
// config and manifest once (go-containerregistry's images read and parse
// their config again for every layer asked of them by diff ID, and a
// larder image's config carries the layout label, a record per file).
func layersByDiffID(img v1.Image) func(v1.Hash) (v1.Layer, error) {
	if k, ok := img.(*keptImage); ok && k.lazy {
		if find := k.layersByDiffID(); find != nil {
			return find
		}
	}
	var once sync.Once
	var byDiffID map[v1.Hash]v1.Layer
	return func(h v1.Hash) (v1.Layer, error) {
		once.Do(func() {
			cf, err := img.ConfigFile()
			if err != nil {
				return
			}
			ls, err := img.Layers()
			if err != nil || len(ls) != len(cf.RootFS.DiffIDs) {
				return
			}
			byDiffID = map[v1.Hash]v1.Layer{}
			for i, d := range cf.RootFS.DiffIDs {
				byDiffID[d] = ls[i]
			}
		})
		if l, ok := byDiffID[h]; ok {
			return l, nil
		}
		return img.LayerByDiffID(h)
	}
}

// fixedImage is an assembled image with its manifest, config and layers
// worked out once. go-containerregistry's mutated images marshal their
// config again for every layer asked of them, and the bake asks for every
// layer several times (reports, blobs to write) of an image whose config
// carries the layout label. The parsed config is made only when asked
// for: writing the image needs its bytes alone.
type fixedImage struct {
	mediaType            types.MediaType
	manifest             *v1.Manifest
	rawManifest, rawConf []byte
	digest               v1.Hash
	layers               []v1.Layer
	byDigest, byDiffID   map[v1.Hash]v1.Layer

	parseConfig sync.Once
	config      *v1.ConfigFile
	configErr   error
}

var _ v1.Image = (*fixedImage)(nil)

// fix fixes img with cf as its config (what mutate.ConfigFile(img, cf)
// gives, to the byte, with the config marshalled once and never parsed
// back); ls are the layers img was made of, checked against its manifest
// and cf.
func fix(img v1.Image, cf *v1.ConfigFile, ls []v1.Layer) (v1.Image, error) {
	f := &fixedImage{layers: ls, byDigest: map[v1.Hash]v1.Layer{}, byDiffID: map[v1.Hash]v1.Layer{}}
	var err error
	if f.mediaType, err = img.MediaType(); err != nil {
		return nil, fmt.Errorf("writing the image manifest: %w", err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("writing the image manifest: %w", err)
	}
	if mt := m.Config.MediaType; mt != types.OCIConfigJSON && mt != types.DockerConfigJSON {
		// mutate would keep such a config's bytes, and drop cf.
		return nil, fmt.Errorf("writing the image config: the image's config is %q, not an image config", mt)
	}
	if f.rawConf, err = json.Marshal(cf); err != nil {
		return nil, fmt.Errorf("writing the image config: %w", err)
	}
	m = m.DeepCopy()
	if m.Config.Digest, m.Config.Size, err = v1.SHA256(bytes.NewReader(f.rawConf)); err != nil {
		return nil, fmt.Errorf("writing the image config: %w", err)
	}
	if m.Config.Data != nil {
		m.Config.Data = f.rawConf
	}
	m.Subject = nil // as mutate's compute does (TestFixGivesWhatMutateConfigFileGives)
	if f.rawManifest, err = json.Marshal(m); err != nil {
		return nil, fmt.Errorf("writing the image manifest: %w", err)
	}
	// The manifest (small) is what its bytes say, as a registry reads it:
	// m itself may hold an empty map where its bytes have none, which
	// validate.Image reports.
	if f.manifest, err = v1.ParseManifest(bytes.NewReader(f.rawManifest)); err != nil {
		return nil, fmt.Errorf("writing the image manifest: %w", err)
	}
	if f.digest, _, err = v1.SHA256(bytes.NewReader(f.rawManifest)); err != nil {
		return nil, err
	}
	diffIDs := cf.RootFS.DiffIDs
	if len(ls) != len(f.manifest.Layers) || len(ls) != len(diffIDs) {
		return nil, fmt.Errorf("assembling the image: %d layers, %d in the manifest, %d in the config", len(ls), len(f.manifest.Layers), len(diffIDs))
	}
	for i, l := range ls {
		d, err := l.Digest()
		if err != nil {
			return nil, err
		}
		if d != f.manifest.Layers[i].Digest {
			return nil, fmt.Errorf("assembling the image: layer %d is %s, the manifest says %s", i, d, f.manifest.Layers[i].Digest)
		}
		f.byDigest[d] = l
		f.byDiffID[diffIDs[i]] = l
	}
	return f, nil
}

func (f *fixedImage) Layers() ([]v1.Layer, error)         { return slices.Clone(f.layers), nil }
func (f *fixedImage) MediaType() (types.MediaType, error) { return f.mediaType, nil }
func (f *fixedImage) Size() (int64, error)                { return int64(len(f.rawManifest)), nil }
func (f *fixedImage) ConfigName() (v1.Hash, error)        { return f.manifest.Config.Digest, nil }
func (f *fixedImage) RawConfigFile() ([]byte, error)      { return slices.Clone(f.rawConf), nil }
func (f *fixedImage) Digest() (v1.Hash, error)            { return f.digest, nil }
func (f *fixedImage) Manifest() (*v1.Manifest, error)     { return f.manifest.DeepCopy(), nil }
func (f *fixedImage) RawManifest() ([]byte, error)        { return slices.Clone(f.rawManifest), nil }

// ConfigFile parses the config's bytes, once.
func (f *fixedImage) ConfigFile() (*v1.ConfigFile, error) {
	f.parseConfig.Do(func() {
		f.config, f.configErr = v1.ParseConfigFile(bytes.NewReader(f.rawConf))
	})
	if f.configErr != nil {
		return nil, fmt.Errorf("reading the image config: %w", f.configErr)
	}
	return f.config.DeepCopy(), nil
}

func (f *fixedImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	if h == f.manifest.Config.Digest {
		return partial.ConfigLayer(f)
	}
	if l, ok := f.byDigest[h]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("the image has no layer %s", h)
}

func (f *fixedImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	if l, ok := f.byDiffID[h]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("the image has no layer of diff ID %s", h)
}

// what names a part for annotations and messages.
func what(p layers.Part) string {
	if p.Bucket != nil {
		return "bucket " + p.Bucket.String()
	}
	return p.Kind
}

// asOCI returns base as an OCI image: as it is when it is one, else an
// OCI manifest and config over the same layer blobs (a Docker layer and an
// OCI layer of the same compression are the same bytes).
func asOCI(base v1.Image, baseLayers []v1.Layer) (v1.Image, error) {
	mt, err := base.MediaType()
	if err != nil {
		return nil, fmt.Errorf("reading the base image: %w", err)
	}
	if mt == types.OCIManifestSchema1 {
		return base, nil
	}
	if mt != types.DockerManifestSchema2 {
		return nil, fmt.Errorf("the base image's manifest is %s: want an OCI or Docker schema 2 image", mt)
	}
	cf, err := base.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the base image's config: %w", err)
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	empty := cf.DeepCopy()
	empty.RootFS.DiffIDs = nil
	empty.History = nil
	if img, err = mutate.ConfigFile(img, empty); err != nil {
		return nil, err
	}
	adds := make([]mutate.Addendum, 0, len(baseLayers))
	for _, l := range baseLayers {
		lmt, err := l.MediaType()
		if err != nil {
			return nil, fmt.Errorf("reading the base image's layers: %w", err)
		}
		oci, ok := ociLayerTypes[lmt]
		if !ok {
			return nil, fmt.Errorf("the base image has a layer of type %s, which larder cannot carry into an OCI image", lmt)
		}
		adds = append(adds, mutate.Addendum{Layer: l, MediaType: oci})
	}
	return mutate.Append(img, adds...)
}

var ociLayerTypes = map[types.MediaType]types.MediaType{
	types.DockerLayer:             types.OCILayer,
	types.DockerUncompressedLayer: types.OCIUncompressedLayer,
	types.OCILayer:                types.OCILayer,
	types.OCILayerZStd:            types.OCILayerZStd,
	types.OCIUncompressedLayer:    types.OCIUncompressedLayer,
}

// setEnv sets KEY=VALUE pairs in env, replacing existing keys in place.
func setEnv(env, set []string) []string {
	out := slices.Clone(env)
	for _, kv := range set {
		key, _, _ := strings.Cut(kv, "=")
		i := slices.IndexFunc(out, func(e string) bool { k, _, _ := strings.Cut(e, "="); return k == key })
		if i >= 0 {
			out[i] = kv
		} else {
			out = append(out, kv)
		}
	}
	return out
}

// knownDiffID is a layer of a previous image whose diff ID its config
// already gave: asked for it, go-containerregistry would otherwise
// download and decompress the layer to hash it.
type knownDiffID struct {
	v1.Layer
	diffID v1.Hash
}

func (k knownDiffID) DiffID() (v1.Hash, error) { return k.diffID, nil }

// withDiffID wraps a reused layer, keeping a registry layer mountable so
// that a push to another repository of the same registry mounts it
// instead of uploading it.
func withDiffID(l v1.Layer, h v1.Hash) v1.Layer {
	if ml, ok := l.(*remote.MountableLayer); ok {
		return &remote.MountableLayer{Layer: knownDiffID{ml.Layer, h}, Reference: ml.Reference}
	}
	return knownDiffID{l, h}
}

// keptImage is an image being refreshed, whose config and manifest are
// parsed once: go-containerregistry parses them again at every call (a
// layout image its manifest once for each layer asked of it), and a larder
// image's config carries the layout label, a record per file.
type keptImage struct {
	v1.Image
	// lazy finds layers by their descriptors, opened only if their bytes
	// are read; not for a registry's image, whose layers must stay
	// mountable into another repository.
	lazy bool

	once sync.Once
	cf   *v1.ConfigFile
	m    *v1.Manifest
	err  error
}

func (k *keptImage) parsed() (*v1.ConfigFile, *v1.Manifest, error) {
	k.once.Do(func() {
		if k.cf, k.err = k.Image.ConfigFile(); k.err == nil {
			k.m, k.err = k.Image.Manifest()
		}
	})
	return k.cf, k.m, k.err
}

func (k *keptImage) ConfigFile() (*v1.ConfigFile, error) {
	cf, _, err := k.parsed()
	if err != nil {
		return nil, err
	}
	return cf.DeepCopy(), nil
}

func (k *keptImage) Manifest() (*v1.Manifest, error) {
	_, m, err := k.parsed()
	if err != nil {
		return nil, err
	}
	return m.DeepCopy(), nil
}

// layersByDiffID finds the image's layers by diff ID from its manifest and
// config alone; nil when they do not agree.
func (k *keptImage) layersByDiffID() func(v1.Hash) (v1.Layer, error) {
	cf, m, err := k.parsed()
	if err != nil || len(m.Layers) != len(cf.RootFS.DiffIDs) {
		return nil
	}
	byDiffID := map[v1.Hash]v1.Layer{}
	for i, d := range cf.RootFS.DiffIDs {
		byDiffID[d] = &lazyLayer{img: k.Image, desc: m.Layers[i], diffID: d}
	}
	return func(h v1.Hash) (v1.Layer, error) {
		if l, ok := byDiffID[h]; ok {
			return l, nil
		}
		return k.Image.LayerByDiffID(h)
	}
}

// lazyLayer is a layer of a kept image known by its descriptor, opened
// only when its bytes are read: refreshing a layout, they are there
// already.
type lazyLayer struct {
	img    v1.Image
	desc   v1.Descriptor
	diffID v1.Hash

	once sync.Once
	l    v1.Layer
	err  error
}

var _ v1.Layer = (*lazyLayer)(nil)

func (l *lazyLayer) open() (v1.Layer, error) {
	l.once.Do(func() { l.l, l.err = l.img.LayerByDigest(l.desc.Digest) })
	return l.l, l.err
}

func (l *lazyLayer) Digest() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l *lazyLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *lazyLayer) Size() (int64, error)                { return l.desc.Size, nil }
func (l *lazyLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }

func (l *lazyLayer) Compressed() (io.ReadCloser, error) {
	o, err := l.open()
	if err != nil {
		return nil, err
	}
	return o.Compressed()
}

func (l *lazyLayer) Uncompressed() (io.ReadCloser, error) {
	o, err := l.open()
	if err != nil {
		return nil, err
	}
	return o.Uncompressed()
}
