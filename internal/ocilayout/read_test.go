//go:build unix

package ocilayout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/larder-build/larder/internal/readlimit"
	"github.com/larder-build/larder/internal/testenv"
)

// bound is how long a refusal may take: it reads nothing, so a test that
// waits this long has found a read that waits.
const bound = 10 * time.Second

// wantRefused checks that err refuses path as what it is, and says what
// to do.
func wantRefused(t *testing.T, what string, err error, path, kind string) {
	t.Helper()
	var nr *readlimit.NotRegularError
	var tl *readlimit.TooLargeError
	switch {
	case err == nil:
		t.Errorf("%s: no error, want %s refused", what, path)
	case kind != "" && (!errors.As(err, &nr) || readlimit.Kind(nr.Mode) != kind):
		t.Errorf("%s: %v, want %s refused as %s", what, err, path, kind)
	case kind == "" && !errors.As(err, &tl):
		t.Errorf("%s: %v, want %s refused as too large", what, err, path)
	case !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "remove"):
		t.Errorf("%s: %q does not name %s and say to remove it", what, err, path)
	}
}

// TestAHostileIndexJSONIsRefusedUnreadWithoutWaiting: an index.json that
// is a named pipe, a link (to a sparse file of 500 MB, to /dev/zero), a
// folder or a regular file over MaxIndexBytes is refused by each reader
// of the index, at once, naming it: none waits for the pipe's writer,
// follows the link or reads the file. The writer that found it lets go of
// the index lock: the next one gets it.
func TestAHostileIndexJSONIsRefusedUnreadWithoutWaiting(t *testing.T) {
	for _, tc := range []struct {
		hostile string
		size    int64
		kind    string
	}{
		{"a named pipe", 0, "a named pipe"},
		{"a link to a sparse file", 500 << 20, "a symbolic link"},
		{"a link to a device", 0, "a symbolic link"},
		{"a folder", 0, "a folder"},
		{"a sparse file", MaxIndexBytes + 1, ""},
	} {
		t.Run(tc.hostile, func(t *testing.T) {
			dir := t.TempDir()
			if err := WriteLayoutFile(dir); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, IndexFile)
			pipe := testenv.PlantHostile(t, p, tc.hostile, tc.size)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			u, err := Take(ctx, dir, true, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer u.Close()
			testenv.Within(t, bound, func() {
				_, err := ReadIndex(dir)
				wantRefused(t, "ReadIndex", err, p, tc.kind)
				_, err = Open(dir)
				wantRefused(t, "Open", err, p, tc.kind)
				err = u.UpdateIndex(ctx, nil, func(*v1.IndexManifest) error { return nil })
				wantRefused(t, "UpdateIndex", err, p, tc.kind)
			}, pipe)
			lctx, lcancel := context.WithTimeout(ctx, 2*time.Second)
			defer lcancel()
			release, err := u.LockIndex(lctx, nil)
			if err != nil {
				t.Fatalf("the index lock after the refusal: %v", err)
			}
			release()
		})
	}
}

// blobOf writes data as a blob of the layout in dir, and returns its
// descriptor and path.
func blobOf(t *testing.T, dir string, data []byte, mt types.MediaType) (v1.Descriptor, string) {
	t.Helper()
	sum := sha256.Sum256(data)
	d := v1.Descriptor{MediaType: mt, Size: int64(len(data)), Digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}}
	p := filepath.Join(dir, "blobs", "sha256", d.Digest.Hex)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return d, p
}

// TestABlobIsReadOnlyAsTheRegularFileOfTheSizeAndDigestItsDescriptorNames:
// ReadBlob returns a blob's bytes only when its file is a regular file
// (not a link, even to the right bytes; not a named pipe, without
// waiting), no longer than its descriptor says and declared no larger than
// the limit (refused unread), and of its digest; a digest that is not a
// sha256 is not made a path.
func TestABlobIsReadOnlyAsTheRegularFileOfTheSizeAndDigestItsDescriptorNames(t *testing.T) {
	manifest := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}`)
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, d *v1.Descriptor, p string) (pipe string)
		limit  int64
		want   string // what the error says; "" for the bytes
	}{
		{"an intact blob", func(*testing.T, *v1.Descriptor, string) string { return "" }, MaxManifestBytes, ""},
		{"a blob larger than its descriptor says", func(t *testing.T, _ *v1.Descriptor, p string) string {
			testenv.Sparse(t, p, 400<<20)
			return ""
		}, MaxManifestBytes, "larger than"},
		{"a blob declared larger than the limit", func(t *testing.T, d *v1.Descriptor, p string) string {
			testenv.Sparse(t, p, 400<<20)
			d.Size = 400 << 20
			return ""
		}, MaxManifestBytes, "at most"},
		{"a blob of other bytes of its size", func(t *testing.T, _ *v1.Descriptor, p string) string {
			if err := os.WriteFile(p, []byte(strings.Repeat(" ", len(manifest))), 0o644); err != nil {
				t.Fatal(err)
			}
			return ""
		}, MaxManifestBytes, "not sha256:"},
		{"a blob that is a named pipe", func(t *testing.T, _ *v1.Descriptor, p string) string {
			return testenv.PlantHostile(t, p, "a named pipe", 0)
		}, MaxManifestBytes, "a named pipe"},
		{"a blob that is a link to its own bytes", func(t *testing.T, _ *v1.Descriptor, p string) string {
			out := filepath.Join(t.TempDir(), "copy")
			if err := os.Rename(p, out); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(out, p); err != nil {
				t.Fatal(err)
			}
			return ""
		}, MaxManifestBytes, "a symbolic link"},
		{"a digest that is not a sha256", func(_ *testing.T, d *v1.Descriptor, _ string) string {
			d.Digest = v1.Hash{Algorithm: "sha256", Hex: "../../../../etc/passwd"}
			return ""
		}, MaxManifestBytes, "sha256 digests only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			d, p := blobOf(t, dir, manifest, types.OCIManifestSchema1)
			pipe := tc.damage(t, &d, p)
			testenv.Within(t, bound, func() {
				got, err := ReadBlob(dir, d, tc.limit)
				switch {
				case tc.want == "" && (err != nil || string(got) != string(manifest)):
					t.Errorf("got %q, %v; want the manifest", got, err)
				case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
					t.Errorf("got %q, %v; want an error saying %q", got, err, tc.want)
				case tc.want != "" && d.Digest.Hex == manifestHex(manifest) && !strings.Contains(err.Error(), p):
					t.Errorf("%q does not name %s", err, p)
				}
			}, pipe)
		})
	}
}

func manifestHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestALayersBytesAreReadOnlyAsFarAsItsDescriptorSaysAndChecked: a layer
// of an image of a layout whose file is not the size its manifest names
// is refused when opened, and one of the right size but other bytes
// fails at the end of its read, naming it.
func TestALayersBytesAreReadOnlyAsFarAsItsDescriptorSaysAndChecked(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, p string)
		want   string
	}{
		{"an intact layer", func(*testing.T, string) {}, ""},
		{"a layer longer than its manifest says", func(t *testing.T, p string) { testenv.Sparse(t, p, 400<<20) }, "its manifest says"},
		{"a layer of other bytes", func(t *testing.T, p string) {
			if err := os.WriteFile(p, []byte("layer-of-other-bytes!"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "not sha256:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := WriteLayoutFile(dir); err != nil {
				t.Fatal(err)
			}
			ld, lp := blobOf(t, dir, []byte("layer-of-the-manifest"), types.OCILayer)
			cd, _ := blobOf(t, dir, []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["`+ld.Digest.String()+`"]}}`), types.OCIConfigJSON)
			m := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + cd.Digest.String() + `","size":` + strconv.FormatInt(cd.Size, 10) +
				`},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"` + ld.Digest.String() + `","size":` + strconv.FormatInt(ld.Size, 10) + `}]}`
			md, _ := blobOf(t, dir, []byte(m), types.OCIManifestSchema1)
			if err := WriteIndex(dir, v1.IndexManifest{SchemaVersion: 2, Manifests: []v1.Descriptor{md}}); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, lp)
			ii, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			img, err := ii.Image(md.Digest)
			if err != nil {
				t.Fatal(err)
			}
			l, err := img.LayerByDigest(ld.Digest)
			if err != nil {
				t.Fatal(err)
			}
			rc, err := l.Compressed()
			var got []byte
			if err == nil {
				got, err = io.ReadAll(rc)
				rc.Close()
			}
			switch {
			case tc.want == "" && (err != nil || string(got) != "layer-of-the-manifest"):
				t.Errorf("got %q, %v; want the layer", got, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), lp)):
				t.Errorf("got %v; want an error naming %s saying %q", err, lp, tc.want)
			}
		})
	}
}
