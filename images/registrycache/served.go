package registrycache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"

	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/serve"
)

// maxServedTags bounds how many wheelhouse manifests Served reads when it
// lists them all.
const maxServedTags = 10000

// Served is the view of a cache an index server serves from: the files of
// its wheelhouse manifests, by name, read by sha256.
type Served struct {
	c    *Cache
	tags []string

	mu   sync.Mutex
	seen map[string][]wheelhouse.Entry // files of the lock and upload tags read
}

var (
	_ serve.Cache  = (*Served)(nil)
	_ serve.Keeper = (*Served)(nil)
)

// Served returns the files of the wheelhouses tagged tags, or of every
// wheelhouse pushed under its lock's tag (sha256-*) and every upload kept
// (upload-*) when none is given.
func (c *Cache) Served(tags ...string) *Served {
	return &Served{c: c, tags: tags}
}

// Files lists the files of the wheelhouses, metadata blobs left out. A
// lock's or an upload's tag names the same files whenever it is read, so
// its manifest is read once per Served, several at a time; a tag named to
// Served (a moving one such as main) is read every time. A tag Served was
// not told to serve that is gone or not a manifest is passed over, so that
// one bad upload does not stop every server; a registry that fails to
// answer fails the list.
func (s *Served) Files(ctx context.Context) ([]wheelhouse.Entry, error) {
	locks, uploads, err := s.c.wheelhouseTags(ctx)
	if err != nil {
		return nil, err
	}
	tags := append(locks, uploads...)
	if len(s.tags) > 0 {
		// Uploads are every server's, whichever lock tags it serves.
		tags = append(slices.Clone(s.tags), uploads...)
	}
	if len(tags) > maxServedTags {
		return nil, fmt.Errorf("listing %s: %d wheelhouses and uploads, more than the %d served; name the wheelhouses to serve with a tag", s.c.ref, len(tags), maxServedTags)
	}
	found := make([][]wheelhouse.Entry, len(tags))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, tag := range tags {
		named := slices.Contains(s.tags, tag)
		s.mu.Lock()
		files, seen := s.seen[tag]
		s.mu.Unlock()
		if seen {
			found[i] = files
			continue
		}
		g.Go(func() error {
			files, err := s.tagFiles(gctx, tag)
			switch {
			case err != nil && (named || !errors.Is(err, errUnreadableTag)):
				// A registry that fails to answer fails the list: a
				// wheelhouse left out could hide a private name.
				return err
			case err != nil:
				return nil // passed over, and read again next time
			}
			found[i] = files
			if !named {
				s.mu.Lock()
				if s.seen == nil {
					s.seen = map[string][]wheelhouse.Entry{}
				}
				s.seen[tag] = files
				s.mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var out []wheelhouse.Entry
	for _, files := range found {
		out = append(out, files...)
	}
	return out, nil
}

// errUnreadableTag is a tag removed since it was listed, or whose
// manifest is not JSON.
var errUnreadableTag = errors.New("no such tag, or not a manifest")

// tagFiles reads the files of the wheelhouse tagged tag.
func (s *Served) tagFiles(ctx context.Context, tag string) ([]wheelhouse.Entry, error) {
	raw, found, err := s.c.manifest(ctx, tag)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("reading the wheelhouse %s of %s: %w", tag, s.c.ref, errUnreadableTag)
	}
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("reading the wheelhouse %s of %s: %w: %w", tag, s.c.ref, errUnreadableTag, err)
	}
	if m.ArtifactType != ArtifactTypeWheelhouse {
		if slices.Contains(s.tags, tag) {
			return nil, fmt.Errorf("reading the wheelhouse %s of %s: artifact type %q, not a wheelhouse", tag, s.c.ref, m.ArtifactType)
		}
		return nil, nil
	}
	var out []wheelhouse.Entry
	for _, d := range m.Layers {
		a := d.Annotations
		if d.MediaType != MediaTypeFile || a[AnnotationFilename] == "" || a[AnnotationOf] != "" || d.Digest.Algorithm != "sha256" {
			continue
		}
		e := wheelhouse.Entry{
			Filename: a[AnnotationFilename], Project: a[AnnotationProject], Version: a[AnnotationVersion],
			SHA256: d.Digest.Hex, Size: d.Size, Private: a[AnnotationPrivate] == "true",
			Origin: wheelhouse.Origin{Kind: a[AnnotationOrigin], Uploader: a[AnnotationUploader]},
		}
		if t, err := time.Parse(time.RFC3339, a[AnnotationUploadTime]); err == nil {
			e.UploadTime = t
		}
		out = append(out, e)
	}
	return out, nil
}

// Open reads the blob sha256; the server verifies it.
func (s *Served) Open(ctx context.Context, sum string) (io.ReadCloser, error) {
	rc, _, err := s.c.Get(ctx, sum)
	return rc, err
}

// UploadTag is the tag an upload kept by Keep is pushed under: one per
// file name (a tag cannot hold every file name), so that a second upload
// of the name finds the first.
func UploadTag(filename string) string { return hashTag("upload-", filename) }

// hashTag is prefix and the sha256 of s in hex: a tag for any string.
func hashTag(prefix, s string) string {
	h := sha256.Sum256([]byte(s))
	return prefix + hex.EncodeToString(h[:])
}

// ProjectTag is the tag every upload of a project (a normalized name) is
// pushed under too, so that a server can ask whether the project has one.
func ProjectTag(project string) string { return hashTag("project-", project) }

// Kept reports whether an upload of the project was kept (Keep).
func (s *Served) Kept(ctx context.Context, project string) (bool, error) {
	_, found, err := s.c.manifest(ctx, ProjectTag(project))
	if err != nil {
		return false, fmt.Errorf("asking %s about uploads of %s: %w", s.c.ref, project, err)
	}
	return found, nil
}

// Keep pushes an upload (its bytes at path and, for a wheel, its core
// metadata) as a wheelhouse of its own tagged UploadTag, so that every
// server of the cache serves it. Other bytes already kept under the same
// file name fail it with an error wrapping serve.ErrConflict.
func (s *Served) Keep(ctx context.Context, e wheelhouse.Entry, path string, metadata []byte) error {
	tag := UploadTag(e.Filename)
	raw, found, err := s.c.manifest(ctx, tag)
	if err != nil {
		return fmt.Errorf("keeping %s in %s: %w", e.Filename, s.c.ref, err)
	}
	if found {
		var m v1.Manifest
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("keeping %s in %s: reading its tag %s: %w", e.Filename, s.c.ref, tag, err)
		}
		for _, d := range m.Layers {
			if d.MediaType == MediaTypeFile && d.Annotations[AnnotationFilename] == e.Filename {
				if d.Digest.Hex != e.SHA256 {
					return fmt.Errorf("keeping %s in %s: %w (sha256 %s)", e.Filename, s.c.ref, serve.ErrConflict, d.Digest.Hex)
				}
				// Kept before; its project's tag too, unless that push
				// was cut short.
				if kept, err := s.Kept(ctx, e.Project); err != nil || kept {
					return err
				}
				if _, err := s.c.putManifest(ctx, raw, []string{ProjectTag(e.Project)}); err != nil {
					return fmt.Errorf("keeping %s: %w", e.Filename, err)
				}
				return nil
			}
		}
	}
	layers, blobs, err := fileDescriptors(e, path, "")
	if err != nil {
		return err
	}
	for _, b := range blobs {
		if _, err := s.c.putIfAbsent(ctx, b.sum, b.path); err != nil {
			return fmt.Errorf("keeping %s in %s: %w", e.Filename, s.c.ref, err)
		}
	}
	if len(metadata) > 0 {
		mh, err := s.c.putBytes(ctx, metadata)
		if err != nil {
			return fmt.Errorf("keeping the metadata of %s in %s: %w", e.Filename, s.c.ref, err)
		}
		layers = append(layers, metadataDescriptor(e.Filename, mh, int64(len(metadata))))
	}
	if _, err := s.c.putBytes(ctx, []byte("{}")); err != nil {
		return fmt.Errorf("keeping %s in %s: %w", e.Filename, s.c.ref, err)
	}
	raw, err = wheelhouseManifest(layers, nil)
	if err != nil {
		return err
	}
	// The project's tag last: once a server can see it, the file's is there.
	if _, err := s.c.putManifest(ctx, raw, []string{tag, ProjectTag(e.Project)}); err != nil {
		return fmt.Errorf("keeping %s: %w", e.Filename, err)
	}
	return nil
}

// wheelhouseTags lists the tags wheelhouses are pushed (sha256-*) and
// uploads kept (upload-*) under, each sorted.
func (c *Cache) wheelhouseTags(ctx context.Context) (locks, uploads []string, err error) {
	var all []string
	if c.dir != "" {
		p, err := layout.FromPath(c.dir)
		if err != nil {
			return nil, nil, fmt.Errorf("listing the tags of %s: %w", c.ref, err)
		}
		idx, err := p.ImageIndex()
		if err != nil {
			return nil, nil, fmt.Errorf("listing the tags of %s: %w", c.ref, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, nil, fmt.Errorf("listing the tags of %s: %w", c.ref, err)
		}
		for _, d := range im.Manifests {
			all = append(all, d.Annotations["org.opencontainers.image.ref.name"])
		}
	} else {
		rt, err := c.reader(ctx)
		if err != nil {
			return nil, nil, err
		}
		all, err = remote.List(c.repo, remote.WithContext(ctx), remote.WithTransport(rt))
		var te *transport.Error
		if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
			// A repository nothing was pushed to yet holds no wheelhouse.
			return nil, nil, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("listing the tags of %s: %w", c.ref, err)
		}
	}
	for _, t := range all {
		switch {
		case strings.HasPrefix(t, "sha256-") && len(t) == len("sha256-")+64:
			locks = append(locks, t)
		case strings.HasPrefix(t, "upload-") && len(t) == len("upload-")+64:
			uploads = append(uploads, t)
		}
	}
	sort.Strings(locks)
	sort.Strings(uploads)
	return locks, uploads, nil
}
