package images

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
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

	"github.com/larder-build/larder/internal/ocilayout"
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

// writeLayout writes an artifact into an OCI layout folder under a tag. A
// new folder is made under a temporary name and renamed into place; in an
// existing layout, blobs arrive through temporary files and renames, and
// index.json (which alone makes them part of the layout) is replaced
// last, atomically, keeping the other tags. Blobs no tag references any
// more are removed afterwards by the last larder process using the
// layout. use is the caller's hold on an existing layout (Bake takes it
// before it reads the previous image); without one, writeLayout takes its
// own, telling wait when it waits for another larder process.
func writeLayout(ctx context.Context, dir, tag string, a Artifact, progress func(int64), use *ocilayout.Use, wait func(string)) (*WriteResult, error) {
	if tag == "" {
		tag = DefaultTag
	}
	blobs, err := a.blobs()
	if err != nil {
		return nil, fmt.Errorf("reading the image: %w", err)
	}
	desc, err := a.descriptor()
	if err != nil {
		return nil, err
	}
	desc.Annotations = map[string]string{refNameAnnotation: tag}
	if use == nil {
		st, err := os.Stat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// What bakes killed while making this layout left beside it.
			ocilayout.RemoveStale(dir)
			res, staged, err := writeNewLayout(ctx, dir, blobs, desc, progress)
			if err != nil || staged == nil {
				return res, err
			}
			// Another writer made the folder first: the blobs, complete in
			// the staged copy, are linked into its layout from there; the
			// copy is held until it is removed.
			defer staged.Close()
			defer os.RemoveAll(staged.Dir())
			for i := range blobs {
				blobs[i].path = filepath.Join(staged.Dir(), "blobs", blobs[i].digest.Algorithm, blobs[i].digest.Hex)
				blobs[i].sync = nil
			}
			progress = nil
		case err != nil:
			return nil, err
		case !st.IsDir():
			return nil, fmt.Errorf("%s exists and is not a folder", dir)
		}
		if err := ocilayout.Check(dir); err != nil {
			return nil, err
		}
		if use, err = ocilayout.Take(ctx, dir, true, wait); err != nil {
			return nil, err
		}
		defer use.Close()
	}
	if err := ocilayout.WriteLayoutFile(dir); err != nil {
		return nil, err
	}
	res, err := putBlobs(ctx, dir, blobs, progress)
	if err != nil {
		return nil, err
	}
	res.Digest = desc.Digest
	err = use.UpdateIndex(ctx, wait, func(idx *v1.IndexManifest) error {
		kept := idx.Manifests[:0:0]
		for _, d := range idx.Manifests {
			if d.Annotations[refNameAnnotation] != tag {
				kept = append(kept, d)
			}
		}
		*idx = v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: append(kept, desc)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = use.CleanUp(func() error {
		// The last one out also removes what bakes killed while making
		// this layout left beside it: a refresh lists the parent folder
		// only then.
		ocilayout.RemoveStale(dir)
		idx, err := ocilayout.ReadIndex(dir)
		if err != nil {
			return err
		}
		return removeUnreferenced(ctx, dir, *idx)
	})
	if err != nil {
		return nil, fmt.Errorf("removing blobs no tag uses: %w", err)
	}
	return res, nil
}

// writeNewLayout writes a layout holding the artifact alone in a staging
// folder beside dir (ocilayout.Stage), and renames it into place. When
// another writer made dir meanwhile, the copy stays, held, and staged is
// the hold on it.
func writeNewLayout(ctx context.Context, dir string, blobs []blob, desc v1.Descriptor, progress func(int64)) (res *WriteResult, staged *ocilayout.Use, err error) {
	hold, err := ocilayout.Stage(dir)
	if err != nil {
		return nil, nil, err
	}
	target := hold.Dir()
	defer func() {
		if err != nil {
			os.RemoveAll(target)
		}
		if staged == nil {
			hold.Close()
		}
	}()
	if err := os.WriteFile(filepath.Join(target, ocilayout.LayoutFile), []byte(ocilayout.LayoutContent), 0o644); err != nil {
		return nil, nil, err
	}
	if res, err = putBlobs(ctx, target, blobs, progress); err != nil {
		return nil, nil, err
	}
	res.Digest = desc.Digest
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{desc}}
	if err := ocilayout.WriteIndex(target, idx); err != nil {
		return nil, nil, err
	}
	if err := os.Rename(target, dir); err != nil {
		if st, serr := os.Stat(dir); serr == nil && st.IsDir() {
			return res, hold, nil
		}
		return nil, nil, err
	}
	return res, nil, nil
}

// putBlobs writes the blobs into the layout in dir, and waits until
// those linked from elsewhere are on disk: index.json, which makes them
// part of the layout, comes after.
func putBlobs(ctx context.Context, dir string, blobs []blob, progress func(int64)) (*WriteResult, error) {
	// 0775 under the umask, as every layout folder: a team's layout
	// (their group's folder, umask 002) takes every member's blobs.
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o775); err != nil {
		return nil, err
	}
	written := make([]int64, len(blobs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, b := range blobs {
		g.Go(func() error {
			n, err := writeBlob(gctx, dir, b, progress)
			written[i] = n
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, b := range blobs {
		if b.sync != nil {
			if err := b.sync(); err != nil {
				return nil, err
			}
		}
	}
	res := &WriteResult{}
	for _, n := range written {
		if n >= 0 {
			res.Blobs++
			res.Bytes += n
		} else {
			res.Skipped++
		}
	}
	return res, nil
}

// writeBlob puts a blob into a layout: nothing when a regular file of the
// right size is there (blobs only ever arrive complete, by rename), a hard link
// when the blob is on disk on the same file system, else a copy through a
// temporary file, synced, checked against the digest and renamed. It
// returns the bytes written, or -1 when the blob was there.
func writeBlob(ctx context.Context, dir string, b blob, progress func(int64)) (int64, error) {
	final := filepath.Join(dir, "blobs", b.digest.Algorithm, b.digest.Hex)
	// A link, a named pipe or a device planted as the blob (a shared
	// layout is anyone's to plant in) is no blob: the rename below
	// replaces it. A folder it cannot: that is an error naming it.
	ok, err := ocilayout.HasBlob(dir, b.digest, b.size)
	switch {
	case ok:
		return -1, nil
	case ocilayout.Replaceable(err):
	case err != nil:
		return 0, fmt.Errorf("writing blob %s: %w", b.digest, err)
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
// index reaches, and what interrupted writes left: larder's temporary
// files at once, other dot-files in blobs/ once older than an hour (a
// younger one may be another program's). Only the holder of the layout's
// use lock alone may call it: no live larder process is writing then.
//
// The layout may be shared, its other tags anyone's: the manifests and
// indexes it reads are regular files only (a named pipe would hang it,
// holding the layout's use lock, and a link lead out of it), of at most
// ocilayout.MaxManifestBytes and of their digests (ocilayout.ReadBlob);
// a tag naming one that is not leaves every blob in place, and is an
// error naming it. It stops when ctx ends.
func removeUnreferenced(ctx context.Context, dir string, idx v1.IndexManifest) error {
	if err := ocilayout.RemoveLeftovers(dir); err != nil {
		return err
	}
	keep := map[string]bool{}
	var walk func(d v1.Descriptor) error
	walk = func(d v1.Descriptor) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if keep[d.Digest.Hex] {
			return nil
		}
		keep[d.Digest.Hex] = true
		if !d.MediaType.IsIndex() && !d.MediaType.IsImage() {
			return nil
		}
		data, err := ocilayout.ReadBlob(dir, d, ocilayout.MaxManifestBytes)
		if err != nil {
			return err
		}
		if d.MediaType.IsIndex() {
			im, err := v1.ParseIndexManifest(bytes.NewReader(data))
			if err != nil {
				return err
			}
			for _, c := range im.Manifests {
				if err := walk(c); err != nil {
					return err
				}
			}
			return nil
		}
		m, err := v1.ParseManifest(bytes.NewReader(data))
		if err != nil {
			return err
		}
		keep[m.Config.Digest.Hex] = true
		for _, l := range m.Layers {
			keep[l.Digest.Hex] = true
		}
		return nil
	}
	for _, d := range idx.Manifests {
		if err := walk(d); err != nil {
			if ocilayout.Refused(err) || ctx.Err() != nil {
				return err
			}
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
		if strings.HasPrefix(name, ".") && !ocilayout.IsWriteLeftover(name) {
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
