//go:build unix

package registrycache_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/images/registrycache"
	"github.com/larder-build/larder/internal/ocilayout"
	"github.com/larder-build/larder/internal/readlimit"
	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/wheelhouse/fetch"
)

// layoutBound is how long a refusal may take: it reads nothing, so a
// test that waits this long has found a read that waits.
const layoutBound = 10 * time.Second

const buildKey = "1111111111111111111111111111111111111111111111111111111111111111"

// putWheel puts a wheel's bytes into the cache c, and returns it as
// built under buildKey.
// openLayoutCache opens a new OCI layout cache, with a context that ends
// after 20 s, and returns its folder.
func openLayoutCache(t *testing.T) (string, context.Context, *registrycache.Cache) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "cache")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	c, err := registrycache.Open(ctx, "oci:"+dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, ctx, c
}

func putWheel(t *testing.T, ctx context.Context, c *registrycache.Cache) fetch.BuiltWheel {
	t.Helper()
	data := []byte("the wheel's bytes")
	sum := sha256.Sum256(data)
	w := fetch.BuiltWheel{Filename: "a-1-py3-none-any.whl", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}
	if err := c.Put(ctx, w.SHA256, w.Size, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	return w
}

// TestAHostileIndexJSONOfALayoutCacheIsRefusedWithoutWaiting: the
// index.json of an oci:DIR cache (a group's folder) that is a named pipe,
// a link (to a sparse file of 500 MB, to /dev/zero) or a file over its
// limit is refused at once, naming it, by a look-up (fetch), a record
// (push, which holds the index lock meanwhile) and a listing (serve):
// none waits for the pipe's writer, follows the link or reads the file.
func TestAHostileIndexJSONOfALayoutCacheIsRefusedWithoutWaiting(t *testing.T) {
	for _, tc := range []struct {
		hostile string
		kind    string // the *readlimit.NotRegularError's; "" for too large
	}{
		{"a named pipe", "a named pipe"},
		{"a link to a sparse file", "a symbolic link"},
		{"a link to a device", "a symbolic link"},
		{"a sparse file", ""},
	} {
		t.Run(tc.hostile, func(t *testing.T) {
			dir, ctx, c := openLayoutCache(t)
			w := putWheel(t, ctx, c)
			p := filepath.Join(dir, ocilayout.IndexFile)
			pipe := testenv.PlantHostile(t, p, tc.hostile, ocilayout.MaxIndexBytes+1)
			for _, op := range []struct {
				name string
				run  func() error
			}{
				{"LookupBuild", func() error { _, _, err := c.LookupBuild(ctx, buildKey); return err }},
				{"PutBuild", func() error {
					return c.PutBuild(ctx, buildKey, w)
				}},
				{"Served.Files", func() error { _, err := c.Served().Files(ctx); return err }},
			} {
				testenv.Within(t, layoutBound, func() {
					err := op.run()
					var nr *readlimit.NotRegularError
					var tl *readlimit.TooLargeError
					switch {
					case err == nil:
						t.Errorf("%s: no error, want %s refused", op.name, p)
					case tc.kind != "" && (!errors.As(err, &nr) || readlimit.Kind(nr.Mode) != tc.kind):
						t.Errorf("%s: %v, want %s refused as %s", op.name, err, p, tc.kind)
					case tc.kind == "" && !errors.As(err, &tl):
						t.Errorf("%s: %v, want %s refused as too large", op.name, err, p)
					case !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "remove"):
						t.Errorf("%s: %q does not name %s and say to remove it", op.name, err, p)
					}
				}, pipe)
			}
		})
	}
}

// TestABuildRecordOfALayoutCacheIsReadOnlyAsFarAsDeclaredAndOfItsDigest:
// a build record's manifest in an oci:DIR cache that holds more than its
// tag declares, or other bytes of its size (another wheel's name), is
// refused naming it: go-containerregistry's reader took both (the JSON
// decoder ignores what follows), and so a fetch took the other wheel.
func TestABuildRecordOfALayoutCacheIsReadOnlyAsFarAsDeclaredAndOfItsDigest(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, p string)
		want   string
	}{
		{"longer than declared", func(t *testing.T, p string) {
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.Write(bytes.Repeat([]byte(" "), 1<<20)); err != nil {
				t.Fatal(err)
			}
		}, "larger than"},
		{"a sparse 300 MB", func(t *testing.T, p string) { testenv.Sparse(t, p, 300<<20) }, "larger than"},
		{"other bytes of its size", func(t *testing.T, p string) {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			changed := bytes.Replace(b, []byte("a-1-py3"), []byte("b-1-py3"), 1)
			if bytes.Equal(b, changed) {
				t.Fatalf("no wheel named in %s", b)
			}
			if err := os.WriteFile(p, changed, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "not sha256:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, ctx, c := openLayoutCache(t)
			if err := c.PutBuild(ctx, buildKey, putWheel(t, ctx, c)); err != nil {
				t.Fatal(err)
			}
			if w, found, err := c.LookupBuild(ctx, buildKey); err != nil || !found || w.Filename != "a-1-py3-none-any.whl" {
				t.Fatalf("the intact record: %+v %v %v", w, found, err)
			}
			idx, err := ocilayout.ReadIndex(dir)
			if err != nil {
				t.Fatal(err)
			}
			var p string
			for _, d := range idx.Manifests {
				if d.Annotations["org.opencontainers.image.ref.name"] == registrycache.BuildTag(buildKey) {
					p = filepath.Join(dir, "blobs", "sha256", d.Digest.Hex)
				}
			}
			if p == "" {
				t.Fatalf("no tag %s in %+v", registrycache.BuildTag(buildKey), idx)
			}
			tc.damage(t, p)
			testenv.Within(t, layoutBound, func() {
				w, _, err := c.LookupBuild(ctx, buildKey)
				if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "remove") {
					t.Errorf("got %+v, %v; want an error naming %s, saying %q and what to do", w, err, p, tc.want)
				}
			})
		})
	}
}

// TestABuildRecordIsNotWrittenOverWhatIsPlantedAtItsWheelsPath: a build
// record names a wheel the oci:DIR cache already holds; when the wheel's
// path holds a link (to the wheel's own bytes, moved elsewhere: Get
// refuses it), a named pipe or a folder instead, the record is refused,
// naming the path and saying to remove it, and no tag is written. The
// check followed the link (os.Stat) and tagged a record whose wheel no
// fetch could read, and said of the others "put it again", naming no
// path.
func TestABuildRecordIsNotWrittenOverWhatIsPlantedAtItsWheelsPath(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, p string)
		kind  string
	}{
		{"a link to the wheel's own bytes elsewhere", func(t *testing.T, p string) { testenv.PlantHostile(t, p, "a link to its own bytes elsewhere", 0) }, "a symbolic link"},
		{"a named pipe", func(t *testing.T, p string) { testenv.PlantHostile(t, p, "a named pipe", 0) }, "a named pipe"},
		{"a folder", func(t *testing.T, p string) { testenv.PlantHostile(t, p, "a folder", 0) }, "a folder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, ctx, c := openLayoutCache(t)
			w := putWheel(t, ctx, c)
			p := filepath.Join(dir, "blobs", "sha256", w.SHA256)
			tc.plant(t, p)
			testenv.Within(t, layoutBound, func() {
				err := c.PutBuild(ctx, buildKey, w)
				if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.kind) || !strings.Contains(err.Error(), "remove it") {
					t.Errorf("PutBuild with %s as the wheel: %v; want it refused naming %s as %s, and what to do", tc.name, err, p, tc.kind)
				}
				if _, found, err := c.LookupBuild(ctx, buildKey); found || err != nil {
					t.Errorf("LookupBuild after the refusal: found %t, %v; want no record", found, err)
				}
			})
		})
	}
}

// TestAPushOverWhatIsPlantedAtABlobsPathReplacesItOrSaysToRemoveIt: a
// push into an oci:DIR cache whose blob path holds a link (to the blob's
// own bytes elsewhere), a named pipe or a file of another size writes the
// blob in its place, a regular file that Get reads; a folder there, which
// a write cannot replace, fails Has and the push naming it and saying to
// remove it. The push took a file of another size for the blob and then
// refused to tag it ("put it again", which did the same), failed on the
// folder with the rename's error alone, and Has took the folder for a
// missing blob.
func TestAPushOverWhatIsPlantedAtABlobsPathReplacesItOrSaysToRemoveIt(t *testing.T) {
	srv, lock := lockIndex(t, closure(), "app")
	a := newMachine(t)
	dir := filepath.Join(t.TempDir(), "layout")
	c, err := registrycache.Open(context.Background(), "oci:"+dir)
	if err != nil {
		t.Fatal(err)
	}
	a.fetch(t, lock, c, false)
	srv.Close()
	sum := lockSum(t, lock)
	file := lock.Packages[0].Wheels[0]
	for _, tc := range []struct {
		name    string
		plant   func(t *testing.T, p string)
		refused string // what the refusal calls it; "" when replaced
		// sized: only its size tells it from the blob, which Has is
		// not told (the push is, by the file it pushes).
		sized bool
	}{
		{"a link to the blob's own bytes elsewhere", func(t *testing.T, p string) { testenv.PlantHostile(t, p, "a link to its own bytes elsewhere", 0) }, "", false},
		{"a named pipe", func(t *testing.T, p string) { testenv.PlantHostile(t, p, "a named pipe", 0) }, "", false},
		{"a file of another size", func(t *testing.T, p string) { testenv.PlantHostile(t, p, "a sparse file", 1<<30) }, "", true},
		{"a folder", func(t *testing.T, p string) { testenv.PlantHostile(t, p, "a folder", 0) }, "a folder", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := registrycache.PushWheelhouse(ctx, c, a.store, sum, registrycache.WithJobs(2)); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, "blobs", "sha256", file.Hashes["sha256"])
			tc.plant(t, p)
			testenv.Within(t, layoutBound, func() {
				has, herr := c.Has(ctx, file.Hashes["sha256"])
				rep, err := registrycache.PushWheelhouse(ctx, c, a.store, sum, registrycache.WithJobs(2))
				if tc.refused != "" {
					for _, e := range []error{herr, err} {
						if e == nil || !strings.Contains(e.Error(), p) || !strings.Contains(e.Error(), tc.refused) || !strings.Contains(e.Error(), "remove it") {
							t.Errorf("Has (%t) and the push with %s at %s: %v; want it refused naming it, and what to do", has, tc.name, p, e)
						}
					}
					return
				}
				if (has && !tc.sized) || herr != nil {
					t.Errorf("Has with %s as the blob: %t, %v; want false", tc.name, has, herr)
				}
				if err != nil || rep.Uploaded != 1 {
					t.Errorf("the push over %s: %+v, %v; want the blob written again", tc.name, rep, err)
				}
				if st, err := os.Lstat(p); err != nil || !st.Mode().IsRegular() {
					t.Errorf("%s after the push: %v, %v; want the blob, a regular file", p, st, err)
				}
				rc, _, err := c.Get(ctx, file.Hashes["sha256"])
				if err != nil {
					t.Errorf("Get after the push: %v", err)
					return
				}
				rc.Close()
			})
		})
	}
}
