package cmd

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/larder-build/larder/images"
	"github.com/larder-build/larder/wheelhouse/serve"
)

// TestBakeRecordsTheLocksDigestAndBakeTimeForTheIndex bakes and reads
// back what larder-index reads in each image: /etc/larder/index.json and
// the image's environment, which names the sha256 of the lock baked and the
// images' creation time, so that the server can say which bake it runs; a
// second bake gives the same digest.
func TestBakeRecordsTheLocksDigestAndBakeTimeForTheIndex(t *testing.T) {
	dir, bins := bakeProject(t)
	lock, err := os.ReadFile(filepath.Join(dir, "pylock.toml"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(lock)
	tests := []struct {
		name, epoch, wantBaked string
	}{
		{"created from SOURCE_DATE_EPOCH", "1700000000", "2023-11-14T22:13:20Z"},
		{"created from the closure", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SOURCE_DATE_EPOCH", tt.epoch)
			var digest string
			for i := range 2 {
				out := "oci:" + filepath.Join(t.TempDir(), "out") + ":dev"
				code, stdout, stderr := run(t, dir, append([]string{"bake", "--output", out}, bins...)...)
				if code != 0 {
					t.Fatalf("bake: %d\n%s\n%s", code, stdout, stderr)
				}
				src, err := images.Open(t.Context(), mustParse(t, out), images.Remote{})
				if err != nil {
					t.Fatal(err)
				}
				img, err := src.ForPlatform("linux/amd64")
				if err != nil {
					t.Fatal(err)
				}
				d, _ := img.Digest()
				if i == 1 && d.String() != digest {
					t.Errorf("the second bake gives %s, the first %s: not reproducible", d, digest)
				}
				digest = d.String()
				cf, err := img.ConfigFile()
				if err != nil {
					t.Fatal(err)
				}
				path := filepath.Join(t.TempDir(), "index.json")
				if err := os.WriteFile(path, fileInImage(t, img, "etc/larder/index.json"), 0o644); err != nil {
					t.Fatal(err)
				}
				cfg, err := serve.ReadConfig(path)
				if err != nil {
					t.Fatal(err)
				}
				// index.json is in the index layer, which a requirements
				// bump must not change: the bake's lock and time come in
				// the image's environment, as larder-index reads them.
				if cfg.LockSHA256 != "" || cfg.Baked != "" {
					t.Errorf("index.json names the lock (%q, %q): the index layer would change with every lock", cfg.LockSHA256, cfg.Baked)
				}
				env := map[string]string{}
				for _, kv := range cf.Config.Env {
					k, v, _ := strings.Cut(kv, "=")
					env[k] = v
				}
				cfg = cfg.FromEnv(func(k string) string { return env[k] })
				if err := cfg.Validate(); err != nil {
					t.Errorf("the baked configuration does not validate: %v", err)
				}
				if cfg.LockSHA256 != hex.EncodeToString(sum[:]) {
					t.Errorf("lock_sha256 %q, want the lock's %x", cfg.LockSHA256, sum)
				}
				want := tt.wantBaked
				if want == "" {
					want = cf.Created.UTC().Format(time.RFC3339)
				}
				if cfg.Baked != want || cfg.Baked != cf.Config.Labels[images.LabelCreated] {
					t.Errorf("baked %q, want %q (the image's created label %q)", cfg.Baked, want, cf.Config.Labels[images.LabelCreated])
				}
			}
		})
	}
}

// fileInImage returns a regular file's content from an image's flattened
// file system.
func fileInImage(t *testing.T, img v1.Image, name string) []byte {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for range 100000 {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading the image's files: %v", err)
		}
		if h.Typeflag == tar.TypeReg && strings.TrimPrefix(h.Name, "/") == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatalf("reading %s from the image: %v", name, err)
			}
			return b
		}
	}
	t.Fatalf("the image has no file %s", name)
	return nil
}
