//go:build unix

package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/larder-build/larder/internal/ocilayout"
	"github.com/larder-build/larder/internal/readlimit"
	"github.com/larder-build/larder/internal/testenv"
)

// hostileBound is how long a refusal may take: it reads nothing, so a
// test that waits this long has found a read that waits.
const hostileBound = 15 * time.Second

// layoutBlob is the path of the blob d names in the layout in dir.
func layoutBlob(dir string, d v1.Hash) string {
	return filepath.Join(dir, "blobs", d.Algorithm, d.Hex)
}

// appendTo adds data at the end of the file at path.
func appendTo(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
}

// TestABaseLayoutsFilesAreReadOnlyAsFarAsDeclaredAndOfTheirDigests: a
// base layout (anyone's to write) whose config or manifest holds more than
// its descriptor says, a config whose bytes are not its digest's (another
// command, the same size), or an index.json over its limit is refused
// naming the file, not read whole and taken: go-containerregistry's reader
// took them all (the JSON decoder ignores what follows), a changed config
// included.
func TestABaseLayoutsFilesAreReadOnlyAsFarAsDeclaredAndOfTheirDigests(t *testing.T) {
	for _, tc := range []struct {
		name string
		// damage changes the layout of an image whose manifest is m and
		// returns the path it changed.
		damage func(t *testing.T, dir string, m *v1.Manifest, mh v1.Hash) string
		want   string // what the error says besides the path
	}{
		{"a config longer than declared", func(t *testing.T, dir string, m *v1.Manifest, _ v1.Hash) string {
			p := layoutBlob(dir, m.Config.Digest)
			appendTo(t, p, bytes.Repeat([]byte(" "), 1<<20))
			return p
		}, "larger than"},
		{"a config of a sparse 400 MB", func(t *testing.T, dir string, m *v1.Manifest, _ v1.Hash) string {
			p := layoutBlob(dir, m.Config.Digest)
			testenv.Sparse(t, p, 400<<20)
			return p
		}, "larger than"},
		{"a config of other bytes of its size", func(t *testing.T, dir string, m *v1.Manifest, _ v1.Hash) string {
			p := layoutBlob(dir, m.Config.Digest)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			changed := bytes.Replace(b, []byte(`"bash"`), []byte(`"dash"`), 1)
			if bytes.Equal(changed, b) {
				t.Fatalf("no command in the config: %s", b)
			}
			if err := os.WriteFile(p, changed, 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}, "not sha256:"},
		{"a manifest longer than declared", func(t *testing.T, dir string, _ *v1.Manifest, mh v1.Hash) string {
			p := layoutBlob(dir, mh)
			appendTo(t, p, bytes.Repeat([]byte("\n"), 1<<20))
			return p
		}, "larger than"},
		{"an index.json over its limit", func(t *testing.T, dir string, _ *v1.Manifest, _ v1.Hash) string {
			p := filepath.Join(dir, ocilayout.IndexFile)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			appendTo(t, p, bytes.Repeat([]byte(" "), ocilayout.MaxIndexBytes+1-len(b)))
			return p
		}, "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := imageLayout(t, baseImage(t, "amd64"), "base")
			img, err := openPlatform(ref)
			if err != nil {
				t.Fatalf("the undamaged layout: %v", err)
			}
			m, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			mh, err := img.Digest()
			if err != nil {
				t.Fatal(err)
			}
			changed := tc.damage(t, ref.Path, m, mh)
			testenv.Within(t, hostileBound, func() {
				img, err := openPlatform(ref)
				if err == nil {
					cf, _ := img.ConfigFile()
					t.Fatalf("the damaged layout was read, its command %v", cf.Config.Cmd)
				}
				if !strings.Contains(err.Error(), changed) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "remove") {
					t.Errorf("got %q, want it to name %s, say %q and what to do", err, changed, tc.want)
				}
			})
		})
	}
}

// openPlatform opens ref's image for linux/amd64, and reads its config.
func openPlatform(ref Ref) (v1.Image, error) {
	s, err := Open(context.Background(), ref, Remote{})
	if err != nil {
		return nil, err
	}
	img, err := s.ForPlatform("linux/amd64")
	if err != nil {
		return nil, err
	}
	if _, err := img.ConfigFile(); err != nil {
		return nil, err
	}
	return img, nil
}

// TestABakesCleanUpRefusesAHostileManifestUnderAnotherTagWithoutWaiting:
// in a shared output layout, a tag another member planted whose manifest
// is a named pipe, a link (to the manifest's own bytes, out of the
// layout), or a sparse file far larger than the tag declares, neither
// hangs a write's clean-up (which holds the layout's use lock alone) nor
// is read: the write says which file to remove, and removes no blob.
func TestABakesCleanUpRefusesAHostileManifestUnderAnotherTagWithoutWaiting(t *testing.T) {
	planted := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:` + strings.Repeat("0", 64) + `","size":2},"layers":[]}`)
	sum := sha256.Sum256(planted)
	desc := v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: int64(len(planted)), Digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])},
		Annotations: map[string]string{refNameAnnotation: "planted"}}
	for _, tc := range []struct {
		hostile string
		plant   func(t *testing.T, p string) (pipe string)
		kind    string // the *readlimit.NotRegularError's; "" for too large
	}{
		{"a named pipe", func(t *testing.T, p string) string {
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}, "a named pipe"},
		{"a link to its own bytes", func(t *testing.T, p string) string {
			out := filepath.Join(t.TempDir(), "manifest")
			if err := os.WriteFile(out, planted, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(out, p); err != nil {
				t.Fatal(err)
			}
			return ""
		}, "a symbolic link"},
		{"a sparse 300 MB file", func(t *testing.T, p string) string {
			testenv.Sparse(t, p, 300<<20)
			return ""
		}, ""},
	} {
		t.Run(tc.hostile, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if _, err := Write(ctx, mustRef(t, "oci:"+dir+":first"), Artifact{Image: baseImage(t, "amd64")}, Remote{}, nil); err != nil {
				t.Fatal(err)
			}
			p := layoutBlob(dir, desc.Digest)
			pipe := tc.plant(t, p)
			idx, err := ocilayout.ReadIndex(dir)
			if err != nil {
				t.Fatal(err)
			}
			idx.Manifests = append(idx.Manifests, desc)
			if err := ocilayout.WriteIndex(dir, *idx); err != nil {
				t.Fatal(err)
			}
			before := blobNames(t, dir)
			testenv.Within(t, hostileBound, func() {
				_, err := Write(ctx, mustRef(t, "oci:"+dir+":second"), Artifact{Image: baseImage(t, "arm64")}, Remote{}, nil)
				var nr *readlimit.NotRegularError
				var tl *readlimit.TooLargeError
				switch {
				case err == nil:
					t.Errorf("the write cleaned up past %s", p)
				case tc.kind != "" && (!errors.As(err, &nr) || readlimit.Kind(nr.Mode) != tc.kind):
					t.Errorf("got %v, want %s refused as %s", err, p, tc.kind)
				case tc.kind == "" && !errors.As(err, &tl):
					t.Errorf("got %v, want %s refused as too large", err, p)
				case !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "remove"):
					t.Errorf("%q does not name %s and say to remove it", err, p)
				}
			}, pipe)
			if tags := layoutTags(t, dir); tags["first"] == "" || tags["second"] == "" || tags["planted"] == "" {
				t.Errorf("tags after the write: %v, want first, second and planted", tags)
			}
			after := blobNames(t, dir)
			for _, b := range before {
				if !slices.Contains(after, b) {
					t.Errorf("blob %s was removed", b)
				}
			}
		})
	}
}

// blobNames lists the files of a layout's blobs/sha256.
func blobNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// TestABlobPlantedAsALinkInAnOutputLayoutIsReplacedNotKept: a link
// planted in a shared output layout where a blob of the image will be,
// to a file of the blob's size but other bytes, is not taken for the
// blob: the write replaces it with the blob itself.
func TestABlobPlantedAsALinkInAnOutputLayoutIsReplacedNotKept(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := Write(ctx, mustRef(t, "oci:"+dir+":first"), Artifact{Image: baseImage(t, "amd64")}, Remote{}, nil); err != nil {
		t.Fatal(err)
	}
	img := baseImage(t, "arm64")
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	p := layoutBlob(dir, m.Config.Digest)
	out := filepath.Join(t.TempDir(), "other")
	if err := os.WriteFile(out, bytes.Repeat([]byte("x"), int(m.Config.Size)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(out, p); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(ctx, mustRef(t, "oci:"+dir+":second"), Artifact{Image: img}, Remote{}, nil); err != nil {
		t.Fatal(err)
	}
	st, err := os.Lstat(p)
	if err != nil || !st.Mode().IsRegular() {
		t.Fatalf("%s after the write: %v, %v; want the blob, a regular file", p, st, err)
	}
	if _, err := ocilayout.ReadBlob(dir, m.Config, ocilayout.MaxConfigBytes); err != nil {
		t.Errorf("the config after the write: %v", err)
	}
}

// TestWhatIsPlantedAtABlobsPathOfAnOutputIsNeitherPlannedAsThereNorKept:
// in a shared output layout, a link planted where a blob of the image is
// (to that blob's own bytes, moved elsewhere) or a named pipe is no blob:
// a plan (--plan) counts the blob as one to write, and the bake writes it
// in its place, a regular file; a folder there, which the bake cannot
// replace, fails the plan and the bake naming it and saying to remove it.
// The plan followed the link (os.Stat) and counted the blob as there, and
// took the folder for a blob to write; the bake failed on the folder with
// the rename's error alone.
func TestWhatIsPlantedAtABlobsPathOfAnOutputIsNeitherPlannedAsThereNorKept(t *testing.T) {
	for _, tc := range []struct {
		name    string
		plant   func(t *testing.T, p string)
		refused string // what the refusal calls it; "" when replaced
	}{
		{"a link to the blob's own bytes elsewhere", func(t *testing.T, p string) { testenv.PlantHostile(t, p, "a link to its own bytes elsewhere", 0) }, ""},
		{"a named pipe", func(t *testing.T, p string) { testenv.PlantHostile(t, p, "a named pipe", 0) }, ""},
		{"a folder", func(t *testing.T, p string) { testenv.PlantHostile(t, p, "a folder", 0) }, "a folder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			dir := filepath.Join(t.TempDir(), "out")
			s := sample(t)
			req := request(t, s, baseLayout(t), mustRef(t, "oci:"+dir+":v1"), "linux/amd64")
			// Baked afresh each time: what is planted is in the image
			// the output holds, which a refresh would read first.
			req.NoFrom = true
			if _, err := Bake(ctx, req); err != nil {
				t.Fatal(err)
			}
			img, err := openOutput(t, req.Output).ForPlatform("linux/amd64")
			if err != nil {
				t.Fatal(err)
			}
			m, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			p := layoutBlob(dir, m.Config.Digest)
			tc.plant(t, p)

			req.DryRun = true
			plan, err := Bake(ctx, req)
			switch {
			case tc.refused != "":
				if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.refused) || !strings.Contains(err.Error(), "remove it") {
					t.Errorf("the plan with %s at %s: %v; want it refused, named, and what to do", tc.name, p, err)
				}
			case err != nil:
				t.Fatalf("the plan: %v", err)
			case plan.Upload == nil || plan.Upload.Blobs != 1 || plan.Upload.Bytes != m.Config.Size:
				t.Errorf("the plan with %s as the config would write %+v; want the config, 1 blob of %d bytes", tc.name, plan.Upload, m.Config.Size)
			}

			req.DryRun = false
			_, err = Bake(ctx, req)
			if tc.refused != "" {
				if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.refused) || !strings.Contains(err.Error(), "remove it") {
					t.Errorf("the bake with %s at %s: %v; want it refused, named, and what to do", tc.name, p, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("the bake over %s: %v", tc.name, err)
			}
			if st, err := os.Lstat(p); err != nil || !st.Mode().IsRegular() {
				t.Fatalf("%s after the bake: %v, %v; want the blob, a regular file", p, st, err)
			}
			if _, err := ocilayout.ReadBlob(dir, m.Config, ocilayout.MaxConfigBytes); err != nil {
				t.Errorf("the config after the bake: %v", err)
			}
		})
	}
}
