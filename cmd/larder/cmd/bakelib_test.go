package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/cmd/larder/config"
	"github.com/larder-build/larder/images"
	"github.com/larder-build/larder/images/buildkit"
	"github.com/larder-build/larder/images/registrycache"
	"github.com/larder-build/larder/internal/indexbin"
	"github.com/larder-build/larder/internal/regtransport"
	"github.com/larder-build/larder/layers"
	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/fetch"
	"github.com/larder-build/larder/wheelhouse/serve"
)

// TestBakeThroughTheLibraryGivesTheCLIsDigest bakes the same lock and
// wheelhouse with larder bake and with images.BakeLock, given only what
// larder.toml says: the defaults that decide the digest (creation time,
// SOURCE_DATE_EPOCH, the lock's platforms, the index server's URL and
// configuration, the version label) are the library's, so both agree.
func TestBakeThroughTheLibraryGivesTheCLIsDigest(t *testing.T) {
	dir, _ := bakeProject(t)
	cfg, err := config.Load(filepath.Join(dir, "larder.toml"), false)
	if err != nil {
		t.Fatal(err)
	}
	bins := indexbin.Build(t, "amd64", "arm64")
	var binFlags []string
	for p, path := range bins {
		binFlags = append(binFlags, "--index-binary", p+"="+path)
	}
	tests := []struct {
		name           string
		epoch          string
		args           []string
		wheelhouseOnly bool
		platforms      []string
	}{
		{"created from the closure", "", nil, false, nil},
		{"created from SOURCE_DATE_EPOCH", "1700000000", nil, false, nil},
		{"one platform", "", []string{"--platform", "linux/arm64"}, false, []string{"linux/arm64"}},
		{"wheelhouse only", "", []string{"--wheelhouse-only"}, true, nil},
	}
	var first string // the first case's digest
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SOURCE_DATE_EPOCH", tt.epoch)
			cliOut := "oci:" + filepath.Join(t.TempDir(), "cli") + ":dev"
			args := append([]string{"bake", "--json", "--output", cliOut}, tt.args...)
			if !tt.wheelhouseOnly {
				args = append(args, binFlags...)
			}
			code, out, stderr := run(t, dir, args...)
			var cli images.Report
			if code != 0 || json.Unmarshal([]byte(out), &cli) != nil {
				t.Fatalf("larder %s: %d\n%s\n%s", strings.Join(args, " "), code, out, stderr)
			}

			lb := images.LockBake{
				Lock:       cfg.Path(cfg.Project.Lock),
				Wheelhouse: cfg.Path(cfg.Wheelhouse.Dir),
				Index:      serve.Config{Upstream: cfg.Index.URL, Private: cfg.Index.Private},
				Request: images.Request{
					Output:         mustParse(t, "oci:"+filepath.Join(t.TempDir(), "lib")+":dev"),
					Platforms:      tt.platforms,
					WheelhouseOnly: tt.wheelhouseOnly,
				},
			}
			if !tt.wheelhouseOnly {
				lb.Base = mustParse(t, "scratch")
				lb.IndexBinaries = bins
			}
			lib, err := images.BakeLock(t.Context(), lb, images.WithLayerDir(filepath.Join(t.TempDir(), "layers")))
			if err != nil {
				t.Fatal(err)
			}
			if lib.Digest != cli.Digest || len(lib.Images) != len(cli.Images) {
				t.Fatalf("the library baked %s (%d images), the CLI %s (%d images)", lib.Digest, len(lib.Images), cli.Digest, len(cli.Images))
			}
			if i > 0 && lib.Digest == first {
				t.Errorf("%s gives the digest of %s: the case tests nothing", tt.name, tests[0].name)
			}
			if i == 0 {
				first = lib.Digest
			}
		})
	}
}

// TestBakeHintsAtIndexBinaryForAPlatformWithout bakes for amd64 and arm64
// with no usable binary for arm64: the library's typed error becomes a
// hint naming the flag and the platform.
func TestBakeHintsAtIndexBinaryForAPlatformWithout(t *testing.T) {
	dir, _ := bakeProject(t)
	bins := indexbin.Build(t, "amd64")
	tests := []struct {
		name string
		flag string
		want []string
	}{
		{"one that does not exist", "linux/arm64=" + filepath.Join(dir, "nowhere"), []string{"larder-index binary for linux/arm64", "does not exist", "hint: ", "--index-binary linux/arm64=PATH"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := run(t, dir, "bake", "--index-binary", "linux/amd64="+bins["linux/amd64"], "--index-binary", tt.flag)
			if code != 1 {
				t.Errorf("exit %d, want 1\n%s\n%s", code, out, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// TestHintForTheLibrariesTypedErrors maps the errors the libraries return,
// however wrapped, to what the user can do about them.
func TestHintForTheLibrariesTypedErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"no index binary", &images.IndexBinaryError{Platform: "linux/arm64"}, "--index-binary linux/arm64=PATH"},
		{"a bad index binary", &images.IndexBinaryError{Platform: "linux/arm64", Path: "x", Err: errors.New("does not exist")}, "--index-binary linux/arm64=PATH"},
		{"an incomplete wheelhouse", &images.WheelhouseError{Dir: "wh", Err: &fetch.IncompleteError{Dir: "wh"}}, "run 'larder fetch' to complete the wheelhouse"},
		{"a wheelhouse that will not open", &images.WheelhouseError{Dir: "wh", Err: fs.ErrNotExist}, "run 'larder fetch' first"},
		{"a file changed on disk", &layers.HashMismatchError{File: "a.whl"}, "'larder verify' lists the damage"},
		{"a file of another size", &layers.SourceError{File: "a.whl", Err: errors.New("is 3 bytes")}, "'larder fetch' repairs it"},
		{"a wheelhouse unlike its manifest", &wheelhouse.InconsistentError{Dir: "wh", Problems: []string{"x"}}, "run 'larder fetch' to repair it"},
		{"a base of another platform", &images.PlatformError{Ref: "oci:base", Have: "linux/amd64", Want: "linux/arm64"}, "give a base for linux/arm64, or bake for --platform linux/amd64"},
		{"several platforms into an archive", images.ErrArchivePlatforms, "bake one --platform"},
		{"an unreachable BuildKit", &buildkit.UnreachableError{Addr: "unix:///nowhere", Err: errors.New("refused")}, "buildkitd"},
		{"too many layers", &images.TooManyLayersError{Base: 90, Larder: 20}, "fewer --buckets"},
		{"a corrupt manifest", &wheelhouse.CorruptManifestError{Path: "wh/manifest.json", Err: errors.New("bad")}, "mv wh/manifest.json"},
		{"a private name and only PyPI", &index.PrivateError{Name: "acme-tools", Indexes: []string{"https://pypi.org/simple/"}}, `[index.projects] "acme-tools"`},
		{"no manifest", fmt.Errorf("opening wheelhouse wh: %w", wheelhouse.ErrNoManifest), "run 'larder fetch' first"},
		{"a cache with too many wheelhouses", &registrycache.TooManyTagsError{Ref: "reg/acme", Tags: 10001, Max: 10000}, "--cache-tag TAG"},
		{"plain HTTP to a registry elsewhere", &registrycache.PlainHTTPError{Host: "10.1.2.3:5000"}, "if 10.1.2.3:5000 really speaks plain HTTP"},
		{"a registry sending the cache to loopback", &registrycache.PlainHTTPError{Host: "127.0.0.1:8080", FromRemote: true}, "the registry sent larder to 127.0.0.1:8080"},
		{"a registry that never answers", &regtransport.TimeoutError{Method: "GET", URL: "https://reg.example:5000/v2/base/manifests/latest", Waited: time.Minute}, "the registry reg.example:5000 took the connection but stopped answering"},
		{"a registry that stops taking an upload", &regtransport.TimeoutError{Method: "PATCH", URL: "https://reg.example/v2/app/blobs/uploads/1", Waited: time.Minute, Upload: true}, "the registry reg.example stopped taking the upload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hintFor(fmt.Errorf("bake: %w", tt.err)); !strings.Contains(got, tt.want) {
				t.Errorf("hint %q, want one saying %q", got, tt.want)
			}
		})
	}
}
