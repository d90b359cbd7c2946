package registrycache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/larder-build/larder/internal/ocilayout"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/fetch"
)

// Media types of larder's artifacts.
const (
	// ArtifactTypeWheelhouse is the artifactType of a wheelhouse manifest.
	ArtifactTypeWheelhouse = "application/vnd.larder.wheelhouse.v1+json"
	// MediaTypeFile is a distribution file (a wheel or an sdist).
	MediaTypeFile types.MediaType = "application/vnd.larder.distribution.v1"
	// MediaTypeMetadata is a wheel's PEP 658 core metadata.
	MediaTypeMetadata types.MediaType = "application/vnd.larder.metadata.v1"
	mediaTypeEmpty    types.MediaType = "application/vnd.oci.empty.v1+json"
)

// Annotations of a file's descriptor in a wheelhouse manifest.
const (
	AnnotationFilename   = "org.opencontainers.image.title"
	AnnotationProject    = "build.larder.project"
	AnnotationVersion    = "build.larder.version"
	AnnotationOrigin     = "build.larder.origin" // index, vcs or sdist
	AnnotationSource     = "build.larder.source" // the URL, commit or sdist it came from
	AnnotationPrivate    = "build.larder.private"
	AnnotationTargets    = "build.larder.targets"
	AnnotationOf         = "build.larder.metadata-of" // the wheel a metadata blob belongs to
	AnnotationUploader   = "build.larder.uploader"    // who uploaded it to larder serve
	AnnotationUploadTime = "build.larder.upload-time" // when, in RFC 3339
)

// PushReport is what a push did.
type PushReport struct {
	// Blobs is how many blobs the wheelhouse has (files and metadata);
	// Uploaded of them were sent, the others the cache held already.
	Blobs    int   `json:"blobs"`
	Uploaded int   `json:"uploaded"`
	Bytes    int64 `json:"bytes_uploaded"`
	// Builds is how many build records (a built wheel for a target) were
	// written.
	Builds   int      `json:"build_records"`
	Manifest string   `json:"manifest"` // digest of the wheelhouse manifest
	Tags     []string `json:"tags"`
}

// LockTag is the tag of the wheelhouse of the lock with this sha256.
func LockTag(lockSHA256 string) string { return "sha256-" + lockSHA256 }

// pushOptions configure PushWheelhouse; PushOption values set them.
type pushOptions struct {
	tags    []string
	jobs    int
	builder string
}

// PushOption says how PushWheelhouse pushes. With none: 8 uploads at
// once, the lock's tag alone, no build records.
type PushOption func(*pushOptions) error

// WithTags tags the wheelhouse manifest with each of tags too (e.g. a
// branch name), besides LockTag.
func WithTags(tags ...string) PushOption {
	return func(o *pushOptions) error {
		for _, t := range tags {
			if _, err := name.NewTag("localhost/x:"+t, name.StrictValidation); err != nil {
				return fmt.Errorf("tag %q: not a valid tag (letters, digits, '_', '.', '-'; at most 128)", t)
			}
		}
		o.tags = append(o.tags, tags...)
		return nil
	}
}

// WithJobs sets how many blobs are uploaded at once (at least 1).
func WithJobs(n int) PushOption {
	return func(o *pushOptions) error {
		if n < 1 {
			return fmt.Errorf("jobs %d: want at least 1", n)
		}
		o.jobs = n
		return nil
	}
}

// WithBuildRecords records every wheel built from an sdist or a git
// commit under its build keys for builder (as fetch.WithBuilderIdentity
// names it), so that fetches find it instead of building.
func WithBuildRecords(builder string) PushOption {
	return func(o *pushOptions) error {
		if builder == "" {
			return errors.New("an empty builder identity")
		}
		o.builder = builder
		return nil
	}
}

// PushWheelhouse uploads every file of store (and every wheel's
// metadata) that the cache lacks, then the wheelhouse's artifact
// manifest, tagged LockTag(lockSHA256).
func PushWheelhouse(ctx context.Context, c *Cache, store *wheelhouse.Store, lockSHA256 string, opt ...PushOption) (*PushReport, error) {
	o := pushOptions{jobs: 8}
	for _, fn := range opt {
		if err := fn(&o); err != nil {
			return nil, fmt.Errorf("pushing: %w", err)
		}
	}
	if _, err := checkSum(lockSHA256); err != nil {
		return nil, fmt.Errorf("pushing: the lock's sha256: %w", err)
	}
	tags, jobs, builder := o.tags, o.jobs, o.builder
	// A layout is held from the first blob to the last tag: its blobs are
	// untagged until then, and no other larder process's clean-up may
	// take them.
	release, err := c.hold(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("pushing: %w", err)
	}
	defer release()
	allTags := append([]string{LockTag(lockSHA256)}, tags...)
	entries := store.Entries()
	sort.Slice(entries, func(i, j int) bool { return entries[i].Filename < entries[j].Filename })
	var layers []v1.Descriptor
	var blobs []blob
	for _, e := range entries {
		metaPath := ""
		if e.MetadataSHA256 != "" {
			metaPath = store.MetadataPath(e.Filename)
		}
		ls, bs, err := fileDescriptors(e, store.Path(e.Filename), metaPath)
		if err != nil {
			return nil, err
		}
		layers, blobs = append(layers, ls...), append(blobs, bs...)
	}
	rep := &PushReport{Blobs: len(blobs), Tags: allTags}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	for _, b := range blobs {
		g.Go(func() error {
			n, err := c.putIfAbsent(gctx, b.sum, b.path)
			if err == nil && n > 0 {
				mu.Lock()
				rep.Uploaded++
				rep.Bytes += n
				mu.Unlock()
			}
			return err
		})
	}
	// The empty config every artifact manifest points at.
	g.Go(func() error {
		_, err := c.putBytes(gctx, []byte("{}"))
		return err
	})
	if err := g.Wait(); err != nil {
		return rep, err
	}
	raw, err := wheelhouseManifest(layers, map[string]string{"build.larder.lock.sha256": lockSHA256})
	if err != nil {
		return rep, err
	}
	if builder != "" {
		for _, e := range entries {
			for _, key := range fetch.EntryBuildKeys(e, builder) {
				if err := c.PutBuild(ctx, key, fetch.BuiltWheel{Filename: e.Filename, SHA256: e.SHA256, Size: e.Size, Entry: e}); err != nil {
					return rep, err
				}
				rep.Builds++
			}
		}
	}
	d, err := c.putManifest(ctx, raw, allTags)
	if err != nil {
		return rep, err
	}
	rep.Manifest = d.String()
	return rep, nil
}

// blob is a file to upload as the blob sum.
type blob struct{ sum, path string }

// fileDescriptors describes a wheelhouse file (and, for a wheel with
// metaPath, its metadata) as a wheelhouse manifest lists it, with the
// blobs to upload.
func fileDescriptors(e wheelhouse.Entry, path, metaPath string) ([]v1.Descriptor, []blob, error) {
	ann := map[string]string{
		AnnotationFilename: e.Filename, AnnotationProject: e.Project, AnnotationVersion: e.Version,
		AnnotationOrigin: e.Origin.Kind, AnnotationPrivate: fmt.Sprint(e.Private),
	}
	if src := firstNonEmpty(e.Origin.Commit, e.Origin.SdistSHA256, e.Origin.URL); src != "" {
		ann[AnnotationSource] = src
	}
	if len(e.Targets) > 0 {
		ann[AnnotationTargets] = strings.Join(e.Targets, ",")
	}
	if e.Origin.Uploader != "" {
		ann[AnnotationUploader] = e.Origin.Uploader
	}
	if !e.UploadTime.IsZero() {
		ann[AnnotationUploadTime] = e.UploadTime.UTC().Format(time.RFC3339)
	}
	h, err := checkSum(e.SHA256)
	if err != nil {
		return nil, nil, fmt.Errorf("pushing %s: %w", e.Filename, err)
	}
	layers := []v1.Descriptor{{MediaType: MediaTypeFile, Digest: h, Size: e.Size, Annotations: ann}}
	blobs := []blob{{e.SHA256, path}}
	if e.MetadataSHA256 == "" || metaPath == "" {
		return layers, blobs, nil
	}
	mh, err := checkSum(e.MetadataSHA256)
	if err != nil {
		return nil, nil, fmt.Errorf("pushing the metadata of %s: %w", e.Filename, err)
	}
	size, err := fileSize(metaPath)
	if err != nil {
		return nil, nil, fmt.Errorf("pushing the metadata of %s: %w", e.Filename, err)
	}
	layers = append(layers, metadataDescriptor(e.Filename, mh, size))
	return layers, append(blobs, blob{e.MetadataSHA256, metaPath}), nil
}

// metadataDescriptor describes the core metadata of the wheel filename.
func metadataDescriptor(filename string, h v1.Hash, size int64) v1.Descriptor {
	return v1.Descriptor{MediaType: MediaTypeMetadata, Digest: h, Size: size,
		Annotations: map[string]string{AnnotationFilename: filename + ".metadata", AnnotationOf: filename}}
}

// wheelhouseManifest is the artifact manifest of a wheelhouse whose files
// layers describes.
func wheelhouseManifest(layers []v1.Descriptor, annotations map[string]string) ([]byte, error) {
	cfgHash, _, _ := v1.SHA256(strings.NewReader("{}"))
	m := v1.Manifest{
		SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: ArtifactTypeWheelhouse,
		Config:      v1.Descriptor{MediaType: mediaTypeEmpty, Digest: cfgHash, Size: 2, Data: []byte("{}")},
		Layers:      layers,
		Annotations: annotations,
	}
	if len(m.Layers) == 0 {
		// An image manifest needs a layer; the empty blob stands for none.
		m.Layers = []v1.Descriptor{{MediaType: mediaTypeEmpty, Digest: cfgHash, Size: 2}}
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding the wheelhouse manifest: %w", err)
	}
	return raw, nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func fileSize(path string) (int64, error) {
	f, err := wheelhouse.OpenRegular(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// putIfAbsent uploads the file at path as blob sum unless the cache has
// it, and says how many bytes it sent.
func (c *Cache) putIfAbsent(ctx context.Context, sum, path string) (int64, error) {
	f, err := wheelhouse.OpenRegular(path)
	if err != nil {
		return 0, fmt.Errorf("pushing %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("pushing %s: %w", path, err)
	}
	// Of its size: a file of another size at the blob's path of a
	// layout is not the blob.
	ok, err := c.has(ctx, sum, st.Size())
	if err != nil {
		return 0, err
	}
	if ok {
		return 0, nil
	}
	if err := c.Put(ctx, sum, st.Size(), f); err != nil {
		// Another pusher may have stored the same blob at the same time,
		// and a registry can fail one of two identical uploads: the blob
		// being there is what counts.
		if ok, herr := c.has(ctx, sum, st.Size()); herr == nil && ok {
			return 0, nil
		}
		return 0, err
	}
	return st.Size(), nil
}

func (c *Cache) putBytes(ctx context.Context, b []byte) (v1.Hash, error) {
	h, _, _ := v1.SHA256(strings.NewReader(string(b)))
	ok, err := c.has(ctx, h.Hex, int64(len(b)))
	if err != nil || ok {
		return h, err
	}
	if err := c.Put(ctx, h.Hex, int64(len(b)), strings.NewReader(string(b))); err != nil {
		if ok, herr := c.has(ctx, h.Hex, int64(len(b))); herr == nil && ok {
			return h, nil // another pusher's
		}
		return h, err
	}
	return h, nil
}

// rawManifest is a manifest go-containerregistry pushes as it is.
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

// putManifest stores the manifest and points every tag at it.
func (c *Cache) putManifest(ctx context.Context, raw []byte, tags []string) (v1.Hash, error) {
	h, _, _ := v1.SHA256(strings.NewReader(string(raw)))
	if c.dir != "" {
		return h, c.tagInLayout(ctx, h, raw, tags)
	}
	rt, err := c.writer(ctx)
	if err != nil {
		return h, fmt.Errorf("pushing the wheelhouse manifest: %w", err)
	}
	var errs []error
	for _, t := range tags {
		ref := c.repo.Tag(t)
		if err := putManifestRetrying(ctx, ref, raw, rt); err != nil {
			errs = append(errs, fmt.Errorf("pushing the wheelhouse manifest to %s: %w", ref, err))
		}
	}
	return h, errors.Join(errs...)
}

// tagInLayout stores the manifest raw (whose digest is h) in the cache's
// layout and points every tag at it, in one replacement of index.json
// under the index lock: tags another process writes meanwhile are kept.
// The blobs it lists must be there, under the same hold: a blob put
// earlier and not tagged since (a fetch's, before its build record) may
// have been removed by a bake's clean-up in the same folder, and a tag
// must never name a manifest whose blobs are gone.
func (c *Cache) tagInLayout(ctx context.Context, h v1.Hash, raw []byte, tags []string) error {
	u, err := ocilayout.Take(ctx, c.dir, true, nil)
	if err != nil {
		return fmt.Errorf("cache %s: %w", c.ref, err)
	}
	defer u.Close()
	m, err := v1.ParseManifest(strings.NewReader(string(raw)))
	if err != nil {
		return fmt.Errorf("tagging %v in %s: %w", tags, c.ref, err)
	}
	for _, d := range append([]v1.Descriptor{m.Config}, m.Layers...) {
		ok, err := ocilayout.HasBlob(c.dir, d.Digest, d.Size)
		if err != nil {
			return fmt.Errorf("tagging %v in %s: %w", tags, c.ref, err)
		}
		if !ok {
			return fmt.Errorf("tagging %v in %s: the cache lacks blob %s of the manifest (removed meanwhile by another larder process's clean-up?): put it again", tags, c.ref, d.Digest)
		}
	}
	if err := c.putFile(ctx, h, int64(len(raw)), strings.NewReader(string(raw))); err != nil {
		return err
	}
	err = u.UpdateIndex(ctx, nil, func(idx *v1.IndexManifest) error {
		retagged := map[string]bool{}
		for _, t := range tags {
			retagged[t] = true
		}
		kept := idx.Manifests[:0:0]
		for _, d := range idx.Manifests {
			if !retagged[d.Annotations[annotationRefName]] {
				kept = append(kept, d)
			}
		}
		for _, t := range tags {
			kept = append(kept, v1.Descriptor{MediaType: types.OCIManifestSchema1, ArtifactType: m.ArtifactType, Digest: h, Size: int64(len(raw)),
				Annotations: map[string]string{annotationRefName: t}})
		}
		idx.SchemaVersion, idx.MediaType, idx.Manifests = 2, types.OCIImageIndex, kept
		return nil
	})
	if err != nil {
		return fmt.Errorf("tagging %v in %s: %w", tags, c.ref, err)
	}
	return nil
}

// putManifestRetrying puts a manifest, up to 4 times: the registry's
// file system storage fails one of two identical manifests written at
// once (it rewrites the blob in place while verifying the other), and
// the second attempt finds it whole.
func putManifestRetrying(ctx context.Context, ref name.Tag, raw []byte, rt http.RoundTripper) error {
	var err error
	for attempt := range 4 {
		if attempt > 0 {
			if err := sleep(ctx, 50*time.Millisecond<<attempt); err != nil {
				return err
			}
		}
		if err = remote.Put(ref, rawManifest{raw, types.OCIManifestSchema1}, remote.WithContext(ctx), remote.WithTransport(rt)); err == nil {
			return nil
		}
	}
	return err
}

// sleep waits for d, or until ctx ends and returns its cause.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}
