package images

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/ctxio"
)

// DefaultTag is the tag an output gets when its reference names none.
const DefaultTag = "latest"

// blob is one content-addressed file of an artifact.
type blob struct {
	digest v1.Hash
	size   int64
	open   func() (io.ReadCloser, error)
	// path is the blob on disk when it is there already (a built layer):
	// linked into a layout on the same file system instead of copied;
	// sync waits until that file is on disk.
	path string
	sync func() error
}

// pathLayer is a layer whose compressed bytes are a file on disk, synced
// to disk when Sync returns.
type pathLayer interface {
	Path() string
	Sync() error
}

// blobs lists every blob of an artifact: layers and config of each
// image, then manifests, the top one last, without repeats.
func (a Artifact) blobs() ([]blob, error) {
	var out []blob
	seen := map[v1.Hash]bool{}
	add := func(b blob) {
		if !seen[b.digest] {
			seen[b.digest] = true
			out = append(out, b)
		}
	}
	raw := func(data []byte) blob {
		h, n, _ := v1.SHA256(strings.NewReader(string(data)))
		return blob{digest: h, size: n, open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(string(data))), nil }}
	}
	image := func(img v1.Image) error {
		ls, err := img.Layers()
		if err != nil {
			return err
		}
		for _, l := range ls {
			d, err := l.Digest()
			if err != nil {
				return err
			}
			n, err := l.Size()
			if err != nil {
				return err
			}
			b := blob{digest: d, size: n, open: l.Compressed}
			if pl, ok := l.(pathLayer); ok {
				b.path, b.sync = pl.Path(), pl.Sync
			}
			add(b)
		}
		cfg, err := img.RawConfigFile()
		if err != nil {
			return err
		}
		add(raw(cfg))
		m, err := img.RawManifest()
		if err != nil {
			return err
		}
		add(raw(m))
		return nil
	}
	if a.Image != nil {
		return out, image(a.Image)
	}
	im, err := a.Index.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range im.Manifests {
		img, err := a.Index.Image(d.Digest)
		if err != nil {
			return nil, err
		}
		if err := image(img); err != nil {
			return nil, err
		}
	}
	m, err := a.Index.RawManifest()
	if err != nil {
		return nil, err
	}
	add(raw(m))
	return out, nil
}

// descriptor is the artifact's descriptor for index.json.
func (a Artifact) descriptor() (v1.Descriptor, error) {
	var x partial.Describable = a.Index
	if a.Image != nil {
		x = a.Image
	}
	var d v1.Descriptor
	var err error
	if d.MediaType, err = x.MediaType(); err != nil {
		return d, err
	}
	if d.Digest, err = x.Digest(); err != nil {
		return d, err
	}
	d.Size, err = x.Size()
	return d, err
}

const (
	ociLayoutFile    = "oci-layout"
	ociLayoutContent = `{"imageLayoutVersion":"1.0.0"}`
	indexFile        = "index.json"
)

// writeLayout writes an artifact into an OCI layout folder under a tag. A
// new folder is made under a temporary name and renamed into place; in an
// existing layout, blobs arrive through temporary files and renames, and
// index.json (which alone makes them part of the layout) is replaced
// last, atomically, keeping the other tags. Blobs no tag references any
// more are removed afterwards.
func writeLayout(ctx context.Context, dir, tag string, a Artifact, progress func(int64)) (res *WriteResult, err error) {
	if tag == "" {
		tag = DefaultTag
	}
	target := dir
	st, err := os.Stat(dir)
	fresh := errors.Is(err, fs.ErrNotExist)
	switch {
	case fresh:
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return nil, err
		}
		var suffix [6]byte
		rand.Read(suffix[:])
		target = dir + ".tmp-" + hex.EncodeToString(suffix[:])
		if err := os.Mkdir(target, 0o755); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				os.RemoveAll(target)
			}
		}()
	case err != nil:
		return nil, err
	case !st.IsDir():
		return nil, fmt.Errorf("%s exists and is not a folder", dir)
	default:
		if err := checkLayout(dir); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Join(target, "blobs", "sha256"), 0o755); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(target, ociLayoutFile)); err != nil {
		if err := wheelhouse.WriteFileAtomic(filepath.Join(target, ociLayoutFile), []byte(ociLayoutContent), 0o644); err != nil {
			return nil, err
		}
	}
	blobs, err := a.blobs()
	if err != nil {
		return nil, fmt.Errorf("reading the image: %w", err)
	}
	res = &WriteResult{}
	written := make([]int64, len(blobs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, b := range blobs {
		g.Go(func() error {
			n, err := writeBlob(gctx, target, b, progress)
			written[i] = n
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	// A linked blob may still be on its way to disk; index.json makes it
	// part of the layout, so it comes after.
	for _, b := range blobs {
		if b.sync != nil {
			if err := b.sync(); err != nil {
				return nil, err
			}
		}
	}
	for _, n := range written {
		if n >= 0 {
			res.Blobs++
			res.Bytes += n
		} else {
			res.Skipped++
		}
	}
	desc, err := a.descriptor()
	if err != nil {
		return nil, err
	}
	res.Digest = desc.Digest
	desc.Annotations = map[string]string{refNameAnnotation: tag}
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	if !fresh {
		old, err := readIndex(target)
		if err != nil {
			return nil, err
		}
		for _, d := range old.Manifests {
			if d.Annotations[refNameAnnotation] != tag {
				idx.Manifests = append(idx.Manifests, d)
			}
		}
	}
	idx.Manifests = append(idx.Manifests, desc)
	data, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := wheelhouse.WriteFileAtomic(filepath.Join(target, indexFile), data, 0o644); err != nil {
		return nil, err
	}
	if fresh {
		if err := os.Rename(target, dir); err != nil {
			return nil, err
		}
		return res, nil
	}
	if err := removeUnreferenced(target, idx); err != nil {
		return nil, fmt.Errorf("removing blobs no tag uses: %w", err)
	}
	return res, nil
}

// checkLayout accepts an OCI layout, or an empty folder.
func checkLayout(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, ociLayoutFile)); err == nil {
		return nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(ents) > 0 {
		return fmt.Errorf("%s exists and is not an OCI layout (no %s file): give another folder", dir, ociLayoutFile)
	}
	return nil
}

func readIndex(dir string) (*v1.IndexManifest, error) {
	f, err := os.Open(filepath.Join(dir, indexFile))
	if errors.Is(err, fs.ErrNotExist) {
		return &v1.IndexManifest{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	im, err := v1.ParseIndexManifest(f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, indexFile), err)
	}
	return im, nil
}

// writeBlob puts a blob into a layout: nothing when a file of the right
// size is there (blobs only ever arrive complete, by rename), a hard link
// when the blob is on disk on the same file system, else a copy through a
// temporary file, synced, checked against the digest and renamed. It
// returns the bytes written, or -1 when the blob was there.
func writeBlob(ctx context.Context, dir string, b blob, progress func(int64)) (int64, error) {
	final := filepath.Join(dir, "blobs", b.digest.Algorithm, b.digest.Hex)
	if st, err := os.Stat(final); err == nil && st.Size() == b.size {
		return -1, nil
	}
	tmp := filepath.Join(dir, "blobs", b.digest.Algorithm, "."+b.digest.Hex+"."+randomSuffix()+".tmp")
	if b.path != "" {
		if err := os.Link(b.path, tmp); err == nil {
			if err := os.Rename(tmp, final); err != nil {
				os.Remove(tmp)
				return 0, err
			}
			if progress != nil {
				progress(b.size)
			}
			return b.size, nil
		}
	}
	rc, err := b.open()
	if err != nil {
		return 0, fmt.Errorf("reading blob %s: %w", b.digest, err)
	}
	defer rc.Close()
	f, err := os.Create(tmp)
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp) // a no-op after the rename
	var w io.Writer = f
	if progress != nil {
		w = io.MultiWriter(f, progressWriter(progress))
	}
	h, n, err := v1.SHA256(io.TeeReader(ctxio.Reader(ctx, rc), w))
	if err == nil && (h != b.digest || n != b.size) {
		err = fmt.Errorf("blob %s: read %d bytes hashing to %s, want %d bytes", b.digest, n, h, b.size)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("writing blob %s: %w", b.digest, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return 0, err
	}
	return n, nil
}

func randomSuffix() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type progressWriter func(int64)

func (p progressWriter) Write(b []byte) (int, error) { p(int64(len(b))); return len(b), nil }

// removeUnreferenced deletes the blobs of a layout that no manifest of its
// index reaches, and leftovers of interrupted writes older than an hour
// (a younger one may be another writer's).
func removeUnreferenced(dir string, idx v1.IndexManifest) error {
	keep := map[string]bool{}
	var walk func(d v1.Descriptor) error
	walk = func(d v1.Descriptor) error {
		if keep[d.Digest.Hex] {
			return nil
		}
		keep[d.Digest.Hex] = true
		data, err := os.ReadFile(filepath.Join(dir, "blobs", d.Digest.Algorithm, d.Digest.Hex))
		if err != nil {
			return err
		}
		switch {
		case d.MediaType.IsIndex():
			im, err := v1.ParseIndexManifest(strings.NewReader(string(data)))
			if err != nil {
				return err
			}
			for _, c := range im.Manifests {
				if err := walk(c); err != nil {
					return err
				}
			}
		case d.MediaType.IsImage():
			m, err := v1.ParseManifest(strings.NewReader(string(data)))
			if err != nil {
				return err
			}
			keep[m.Config.Digest.Hex] = true
			for _, l := range m.Layers {
				keep[l.Digest.Hex] = true
			}
		}
		return nil
	}
	for _, d := range idx.Manifests {
		if err := walk(d); err != nil {
			// A manifest this version cannot read: keep everything.
			return nil
		}
	}
	blobDir := filepath.Join(dir, "blobs", "sha256")
	ents, err := os.ReadDir(blobDir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		name := e.Name()
		if keep[name] {
			continue
		}
		if strings.HasPrefix(name, ".") {
			if info, err := e.Info(); err != nil || time.Since(info.ModTime()) < time.Hour {
				continue
			}
		}
		if err := os.Remove(filepath.Join(blobDir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
