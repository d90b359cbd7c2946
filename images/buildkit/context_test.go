package buildkit

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/larder-build/larder/images"
)

// TestAContextLayoutKeepsItsBlobsUntilReleased: the layout of an oci:
// build context is held from ContextFor to Release, so that another bake
// retagging the image in it, whose clean-up removes the blobs no tag uses
// any more, leaves the ones BuildKit reads; once released, the next
// writer's clean-up removes them.
func TestAContextLayoutKeepsItsBlobsUntilReleased(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "base")
	ref, err := images.ParseRef("oci:"+dir+":base", false)
	if err != nil {
		t.Fatal(err)
	}
	put := func() v1.Image {
		t.Helper()
		img, err := random.Image(512, 2)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := images.Write(ctx, ref, images.Artifact{Image: img}, images.Remote{}, nil); err != nil {
			t.Fatal(err)
		}
		return img
	}
	blobsOf := func(img v1.Image) []string {
		t.Helper()
		var hs []v1.Hash
		for _, f := range []func() (v1.Hash, error){img.Digest, img.ConfigName} {
			h, err := f()
			if err != nil {
				t.Fatal(err)
			}
			hs = append(hs, h)
		}
		ls, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			h, err := l.Digest()
			if err != nil {
				t.Fatal(err)
			}
			hs = append(hs, h)
		}
		var out []string
		for _, h := range hs {
			out = append(out, filepath.Join(dir, "blobs", h.Algorithm, h.Hex))
		}
		return out
	}
	read := put()
	bc, err := ContextFor(ctx, "base", "oci:"+dir+":base")
	if err != nil {
		t.Fatal(err)
	}
	defer bc.Release()
	if d, _ := read.Digest(); bc.Digest != d.String() {
		t.Fatalf("the context resolves to %s, want %s", bc.Digest, d)
	}
	put() // another bake retags base and cleans up
	for _, p := range blobsOf(read) {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("a blob of the image a build reads was removed while its context was held: %v", err)
		}
	}
	bc.Release()
	bc.Release() // twice is harmless
	put()
	for _, p := range blobsOf(read) {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s, of an image no tag uses, outlived the build's hold", filepath.Base(p))
		}
	}
}
