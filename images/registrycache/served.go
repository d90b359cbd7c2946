package registrycache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

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
}

var _ serve.Cache = (*Served)(nil)

// Served returns the files of the wheelhouses tagged tags, or of every
// wheelhouse pushed under its lock's tag (sha256-*) when none is given.
func (c *Cache) Served(tags ...string) *Served {
	return &Served{c: c, tags: tags}
}

// Files lists the files of the wheelhouses, metadata blobs left out.
func (s *Served) Files(ctx context.Context) ([]wheelhouse.Entry, error) {
	tags := s.tags
	if len(tags) == 0 {
		var err error
		if tags, err = s.c.lockTags(ctx); err != nil {
			return nil, err
		}
	}
	var out []wheelhouse.Entry
	for _, tag := range tags {
		raw, found, err := s.c.manifest(ctx, tag)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("reading the wheelhouse %s of %s: no such tag", tag, s.c.ref)
		}
		var m v1.Manifest
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("reading the wheelhouse %s of %s: %w", tag, s.c.ref, err)
		}
		if m.ArtifactType != ArtifactTypeWheelhouse {
			if len(s.tags) > 0 {
				return nil, fmt.Errorf("reading the wheelhouse %s of %s: artifact type %q, not a wheelhouse", tag, s.c.ref, m.ArtifactType)
			}
			continue
		}
		for _, d := range m.Layers {
			a := d.Annotations
			if d.MediaType != MediaTypeFile || a[AnnotationFilename] == "" || a[AnnotationOf] != "" || d.Digest.Algorithm != "sha256" {
				continue
			}
			out = append(out, wheelhouse.Entry{
				Filename: a[AnnotationFilename], Project: a[AnnotationProject], Version: a[AnnotationVersion],
				SHA256: d.Digest.Hex, Size: d.Size, Private: a[AnnotationPrivate] == "true",
				Origin: wheelhouse.Origin{Kind: a[AnnotationOrigin]},
			})
		}
	}
	return out, nil
}

// Open reads the blob sha256; the server verifies it.
func (s *Served) Open(ctx context.Context, sum string) (io.ReadCloser, error) {
	rc, _, err := s.c.Get(ctx, sum)
	return rc, err
}

// lockTags lists the tags wheelhouses are pushed under, sorted.
func (c *Cache) lockTags(ctx context.Context) ([]string, error) {
	var all []string
	if c.dir != "" {
		p, err := layout.FromPath(c.dir)
		if err != nil {
			return nil, fmt.Errorf("listing the tags of %s: %w", c.ref, err)
		}
		idx, err := p.ImageIndex()
		if err != nil {
			return nil, fmt.Errorf("listing the tags of %s: %w", c.ref, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("listing the tags of %s: %w", c.ref, err)
		}
		for _, d := range im.Manifests {
			all = append(all, d.Annotations["org.opencontainers.image.ref.name"])
		}
	} else {
		rt, err := c.reader(ctx)
		if err != nil {
			return nil, err
		}
		all, err = remote.List(c.repo, remote.WithContext(ctx), remote.WithTransport(rt))
		var te *transport.Error
		if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
			// A repository nothing was pushed to yet holds no wheelhouse.
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("listing the tags of %s: %w", c.ref, err)
		}
	}
	var tags []string
	for _, t := range all {
		if strings.HasPrefix(t, "sha256-") && len(t) == len("sha256-")+64 {
			tags = append(tags, t)
		}
	}
	if len(tags) > maxServedTags {
		return nil, errors.New("listing the tags of " + c.ref + fmt.Sprintf(": %d wheelhouses, more than the %d served; name some with a tag", len(tags), maxServedTags))
	}
	sort.Strings(tags)
	return tags, nil
}
