package registrycache_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/larder-build/larder/images/registrycache"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/serve"
)

// keptUpload keeps alice's upload of acme-tools 1.0 (a wheel, with its
// metadata) in a new oci: layout cache, and returns the layout's folder,
// the cache, the wheel, its file and its entry.
func keptUpload(t *testing.T) (string, *registrycache.Cache, *pypitest.File, string, wheelhouse.Entry) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	c, err := registrycache.Open(context.Background(), "oci:"+dir)
	if err != nil {
		t.Fatal(err)
	}
	w, path, e := uploadedWheel(t, "acme-tools", "1.0", 0)
	if err := c.Served().Keep(context.Background(), e, path, w.Metadata); err != nil {
		t.Fatal(err)
	}
	return dir, c, w, path, e
}

// uploadedWheel builds the wheel of a project's version, padded by size
// bytes, as alice uploads it: the wheel, its file and its entry.
func uploadedWheel(t *testing.T, project, version string, size int) (*pypitest.File, string, wheelhouse.Entry) {
	t.Helper()
	p := &pypitest.Project{Name: project, Releases: []pypitest.Release{{Version: version}}}
	w, err := pypitest.BuildWheel(p, &p.Releases[0], pypitest.Wheel{Tags: "py3-none-any", Size: size})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), w.Filename)
	if err := os.WriteFile(path, w.Data, 0o644); err != nil {
		t.Fatal(err)
	}
	e := wheelhouse.Entry{Filename: w.Filename, Project: project, Version: version, SHA256: w.SHA256, Size: int64(len(w.Data)),
		MetadataSHA256: w.MetadataSHA256, Private: true, UploadTime: time.Now().UTC().Truncate(time.Second),
		Origin: wheelhouse.Origin{Kind: wheelhouse.OriginUpload, Uploader: "alice"}}
	return w, path, e
}

// TestKeepingAnUploadAgainRestoresItsProjectTag: an upload kept before,
// whose project tag never made it (a push cut short), is tagged for its
// project when it is kept again, so that every server learns the project
// is private; other bytes under its name are refused as a conflict.
func TestKeepingAnUploadAgainRestoresItsProjectTag(t *testing.T) {
	ctx := context.Background()
	dir, c, w, path, e := keptUpload(t)
	s := c.Served()
	if kept, err := s.Kept(ctx, "acme-tools"); err != nil || !kept {
		t.Fatalf("Kept after Keep: %v, %v", kept, err)
	}
	if err := layout.Path(dir).RemoveDescriptors(match.Annotation("org.opencontainers.image.ref.name", registrycache.ProjectTag("acme-tools"))); err != nil {
		t.Fatal(err)
	}
	if kept, _ := s.Kept(ctx, "acme-tools"); kept {
		t.Fatal("the project tag is still there")
	}
	if err := s.Keep(ctx, e, path, w.Metadata); err != nil {
		t.Fatalf("keeping the same upload again: %v", err)
	}
	if kept, err := s.Kept(ctx, "acme-tools"); err != nil || !kept {
		t.Fatalf("Kept after keeping again: %v, %v; want the project tag restored", kept, err)
	}
	other := e
	other.SHA256 = w.MetadataSHA256 // any other sha256
	if err := s.Keep(ctx, other, path, w.Metadata); !errors.Is(err, serve.ErrConflict) {
		t.Fatalf("other bytes under %s: %v, want a conflict", e.Filename, err)
	}
	files, err := s.Files(ctx)
	if err != nil || len(files) != 1 || files[0].Filename != w.Filename || files[0].Origin.Uploader != "alice" || !files[0].Private {
		t.Fatalf("the cache lists %+v, %v; want the one private upload by alice", files, err)
	}
}

// TestABrokenUploadTagIsPassedOverNotFatal: an upload tag whose manifest
// is not JSON (a hostile or damaged registry) costs its own files only;
// the rest of the cache is still listed.
func TestABrokenUploadTagIsPassedOverNotFatal(t *testing.T) {
	ctx := context.Background()
	dir, c, w, _, _ := keptUpload(t)
	junk := []byte("this is not a manifest")
	h, size, err := v1.SHA256(bytes.NewReader(junk))
	if err != nil {
		t.Fatal(err)
	}
	lp := layout.Path(dir)
	if err := lp.WriteBlob(h, io.NopCloser(bytes.NewReader(junk))); err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendDescriptor(v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: h, Size: size,
		Annotations: map[string]string{"org.opencontainers.image.ref.name": registrycache.UploadTag("broken-1.0-py3-none-any.whl")}}); err != nil {
		t.Fatal(err)
	}
	files, err := c.Served().Files(ctx)
	if err != nil || len(files) != 1 || files[0].Filename != w.Filename {
		t.Fatalf("listing a cache with one broken upload tag: %+v, %v; want the good upload", files, err)
	}
}

// TestATagRemovedFromTheCacheIsForgotten: Served holds the files of the
// lock tags it read, to ask only whether they changed; once a tag is
// gone from the cache (a retention policy deleting old locks' wheelhouses
// under a server that runs for months), its files are no longer listed
// nor held.
func TestATagRemovedFromTheCacheIsForgotten(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "layout")
	c, err := registrycache.Open(ctx, "oci:"+dir)
	if err != nil {
		t.Fatal(err)
	}
	locks := []string{strings.Repeat("d", 64), strings.Repeat("e", 64)}
	for i, lock := range locks {
		w, _, _ := uploadedWheel(t, fmt.Sprintf("acme-%d", i), "1.0", 0)
		pushLockWheelhouse(t, c, lock, w)
	}
	s := c.Served()
	if files, err := s.Files(ctx); err != nil || len(files) != 2 {
		t.Fatalf("two locks' wheelhouses list %+v, %v; want a file each", files, err)
	}
	if err := layout.Path(dir).RemoveDescriptors(match.Annotation("org.opencontainers.image.ref.name", registrycache.LockTag(locks[0]))); err != nil {
		t.Fatal(err)
	}
	if files, err := s.Files(ctx); err != nil || len(files) != 1 || files[0].Project != "acme-1" {
		t.Fatalf("after the first lock's tag is removed: %+v, %v; want the second lock's file", files, err)
	}
	if n := registrycache.HeldTags(s); n != 1 {
		t.Fatalf("Served holds the files of %d tags, want 1: the removed tag's are held still", n)
	}
}
