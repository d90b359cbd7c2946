package registrycache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/larder-build/larder/internal/ocilayout"
	"github.com/larder-build/larder/wheelhouse/fetch"
)

// ArtifactTypeBuild is the artifactType of a build record: the manifest
// that a build key's tag points at, listing the one wheel built.
const ArtifactTypeBuild = "application/vnd.larder.build.v1+json"

// BuildTag is the tag of the build record of a build key.
func BuildTag(key string) string { return "build-" + key }

// LookupBuild finds the wheel built under key (a fetch.BuildKey).
func (c *Cache) LookupBuild(ctx context.Context, key string) (fetch.BuiltWheel, bool, error) {
	if _, err := checkSum(key); err != nil {
		return fetch.BuiltWheel{}, false, fmt.Errorf("build key: %w", err)
	}
	raw, found, err := c.manifest(ctx, BuildTag(key))
	if err != nil || !found {
		return fetch.BuiltWheel{}, false, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return fetch.BuiltWheel{}, false, fmt.Errorf("reading the build record %s of %s: %w", BuildTag(key), c.ref, err)
	}
	if m.ArtifactType != ArtifactTypeBuild || len(m.Layers) != 1 || m.Layers[0].MediaType != MediaTypeFile || m.Layers[0].Digest.Algorithm != "sha256" {
		return fetch.BuiltWheel{}, false, fmt.Errorf("the build record %s of %s is not a larder build record", BuildTag(key), c.ref)
	}
	l := m.Layers[0]
	return fetch.BuiltWheel{Filename: l.Annotations[AnnotationFilename], SHA256: l.Digest.Hex, Size: l.Size}, true, nil
}

// PutBuild records that key built w, whose file the cache holds: a
// manifest listing it, tagged BuildTag(key).
func (c *Cache) PutBuild(ctx context.Context, key string, w fetch.BuiltWheel) error {
	if _, err := checkSum(key); err != nil {
		return fmt.Errorf("build key: %w", err)
	}
	h, err := checkSum(w.SHA256)
	if err != nil {
		return fmt.Errorf("recording the build of %s: %w", w.Filename, err)
	}
	cfg, err := c.putBytes(ctx, []byte("{}"))
	if err != nil {
		return err
	}
	e := w.Entry
	ann := map[string]string{AnnotationFilename: w.Filename, AnnotationProject: e.Project, AnnotationVersion: e.Version,
		AnnotationOrigin: e.Origin.Kind, AnnotationPrivate: fmt.Sprint(e.Private)}
	if src := firstNonEmpty(e.Origin.Commit, e.Origin.SdistSHA256, e.Origin.URL); src != "" {
		ann[AnnotationSource] = src
	}
	if len(e.Targets) > 0 {
		ann[AnnotationTargets] = strings.Join(e.Targets, ",")
	}
	m := v1.Manifest{
		SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: ArtifactTypeBuild,
		Config: v1.Descriptor{MediaType: mediaTypeEmpty, Digest: cfg, Size: 2},
		Layers: []v1.Descriptor{{MediaType: MediaTypeFile, Digest: h, Size: w.Size, Annotations: ann}},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encoding the build record of %s: %w", w.Filename, err)
	}
	_, err = c.putManifest(ctx, raw, []string{BuildTag(key)})
	return err
}

// manifest reads the manifest a tag points at; found is false when
// there is none.
func (c *Cache) manifest(ctx context.Context, tag string) ([]byte, bool, error) {
	if c.dir != "" {
		// Held, so that no clean-up removes the manifest between
		// index.json naming it and its read.
		release, err := c.hold(ctx, false)
		if err != nil {
			return nil, false, err
		}
		defer release()
		tagged, err := c.layoutManifests()
		if err != nil {
			return nil, false, fmt.Errorf("reading %s: %w", c.ref, err)
		}
		for _, d := range tagged {
			if d.Annotations[annotationRefName] == tag {
				// Checked against its digest, and read only as far as
				// its descriptor says (at most a registry's limit).
				b, err := ocilayout.ReadBlob(c.dir, d, ocilayout.MaxManifestBytes)
				if err != nil {
					return nil, false, fmt.Errorf("reading %s of %s: %w", tag, c.ref, err)
				}
				return b, true, nil
			}
		}
		return nil, false, nil
	}
	rt, err := c.reader(ctx)
	if err != nil {
		return nil, false, err
	}
	d, err := remote.Get(c.repo.Tag(tag), remote.WithContext(ctx), remote.WithTransport(rt))
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading %s of %s: %w", tag, c.ref, err)
	}
	return d.Manifest, true, nil
}

var _ fetch.BuildCache = (*Cache)(nil)
