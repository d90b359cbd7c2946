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
			dir := filepath.Join(t.TempDir(), "cache")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, err := registrycache.Open(ctx, "oci:"+dir)
			if err != nil {
				t.Fatal(err)
			}
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
			dir := filepath.Join(t.TempDir(), "cache")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, err := registrycache.Open(ctx, "oci:"+dir)
			if err != nil {
				t.Fatal(err)
			}
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
