package cmd

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/larder-build/larder/images"
	"github.com/larder-build/larder/internal/indexbin"
	"github.com/larder-build/larder/internal/pypitest"
)

// bakeProject locks and fetches smallIndex for amd64 and arm64 in a fresh
// folder and returns it with the --index-binary flags bake needs.
func bakeProject(t *testing.T) (string, []string) {
	t.Helper()
	dir := newProject(t, pypitest.Start(t, smallIndex()), "web\nfast\n", `private = ["acme-*"]
[wheelhouse]
dir = "wh"
[image]
base = "scratch"
output = "oci:out:dev"
`+twoTargets)
	mustRun(t, dir, []string{"lock"}, []string{"fetch"})
	return dir, indexBinaryFlags(t)
}

// indexBinaryFlags are the --index-binary flags of the amd64 and arm64
// larder-index binaries built for the test.
func indexBinaryFlags(t *testing.T) []string {
	t.Helper()
	var flags []string
	for p, path := range indexbin.Build(t, "amd64", "arm64") {
		flags = append(flags, "--index-binary", p+"="+path)
	}
	return flags
}

func TestBakeFromTheCommandLineThenRefreshAndPlan(t *testing.T) {
	dir, bins := bakeProject(t)
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	code, out, stderr := run(t, dir, append([]string{"bake"}, bins...)...)
	if code != 0 {
		t.Fatalf("bake: %d\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{"baked 2 images into oci:", "out:dev", "first layout", "linux/amd64  sha256:", "linux/arm64  sha256:", "bucket pure 1/1", "delta", "wrote "} {
		if !strings.Contains(out, want) {
			t.Errorf("bake output lacks %q:\n%s", want, out)
		}
	}
	// The image's index configuration carries larder.toml's settings.
	src, err := images.Open(t.Context(), mustParse(t, "oci:"+filepath.Join(dir, "out")+":dev"), images.Remote{})
	if err != nil {
		t.Fatal(err)
	}
	img, _ := src.ForPlatform("linux/arm64")
	cf, _ := img.ConfigFile()
	if cf.Created.Unix() != 1700000000 || cf.Config.Labels[images.LabelCreated] != "2023-11-14T22:13:20Z" {
		t.Errorf("SOURCE_DATE_EPOCH not used: created %v", cf.Created)
	}

	// Nothing changed: the same digest, every layer kept, nothing written
	// but what an OCI layout rewrites (nothing).
	code, out2, _ := run(t, dir, append([]string{"bake", "--json"}, bins...)...)
	var rep images.Report
	if code != 0 || json.Unmarshal([]byte(out2), &rep) != nil {
		t.Fatalf("second bake: %d\n%s", code, out2)
	}
	if !rep.Refreshed || rep.Write.Blobs != 0 || !strings.Contains(out, rep.Digest) {
		t.Errorf("an unchanged re-bake: refreshed %v, wrote %d blobs, digest %s\n%s", rep.Refreshed, rep.Write.Blobs, rep.Digest, out)
	}

	code, out, stderr = run(t, dir, append([]string{"bake", "--plan", "--compact", "--buckets", "2"}, bins...)...)
	if code != 0 || !strings.Contains(out, "plan: would bake") || !strings.Contains(out, "buckets laid out again (compaction was asked for)") || !strings.Contains(out, "would write") {
		t.Errorf("bake --plan: %d\n%s\n%s", code, out, stderr)
	}
	if !strings.Contains(out, "fast-1.0-cp311-cp311-manylinux_2_17_x86_64") {
		t.Errorf("the plan does not list the files of each layer:\n%s", out)
	}

	// A wheelhouse-only image for BuildKit named contexts.
	code, out, stderr = run(t, dir, "bake", "--wheelhouse-only", "--output", "oci:whimage", "--platform", "linux/amd64")
	if code != 0 || !strings.Contains(out, "baked 1 image into oci:") {
		t.Errorf("bake --wheelhouse-only: %d\n%s\n%s", code, out, stderr)
	}
}

func mustParse(t *testing.T, s string) images.Ref {
	t.Helper()
	r, err := images.ParseRef(s, false)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestBakeCommandErrorsSayWhatToDo(t *testing.T) {
	dir, bins := bakeProject(t)
	wheel := filepath.Join(dir, "wh", "files", "fast-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"scratch as output", []string{"bake", "--output", "scratch"}, 2, []string{"scratch is only a base"}},
		{"bad reference", []string{"bake", "--output", "ftp://x"}, 2, []string{`unknown transport "ftp"`, "docker://REGISTRY/REPO:TAG"}},
		{"bad compression", []string{"bake", "--compression", "lz4"}, 2, []string{`unknown compression "lz4"`}},
		{"bad platform", []string{"bake", "--platform", "linux/sparc"}, 2, []string{"unknown architecture"}},
		{"bad buckets", []string{"bake", "--buckets", "99"}, 2, []string{"--buckets 99"}},
		{"relative path", []string{"bake", "--path", "wheelhouse"}, 2, []string{`--path: wheelhouse path "wheelhouse"`, "absolute folder"}},
		{"path not in UTF-8", []string{"bake", "--path", "/wheel\xffhouse"}, 2, []string{"--path", "in UTF-8 without control characters"}},
		{"path with a control character", []string{"bake", "--path", "/wheel\nhouse"}, 2, []string{"--path", "in UTF-8 without control characters"}},
		{"bad index binary flag", []string{"bake", "--index-binary", "linux/amd64"}, 2, []string{"PLATFORM=PATH"}},
		{"missing base", []string{"bake", "--base", "oci:nowhere:x"}, 1, []string{"base image", "does not exist"}},
		{"unreachable registry", []string{"bake", "--output", "docker://127.0.0.1:1/app:1"}, 1, []string{"connection refused", "hint: is the registry running"}},
		{"bad SOURCE_DATE_EPOCH", []string{"bake"}, 2, []string{"SOURCE_DATE_EPOCH"}},
		{"a damaged wheelhouse", []string{"bake", "--output", "oci:damaged", "--layer-cache", "fresh-layers"}, 1, []string{"fast-1.0", "sha256 is", "hint: the wheelhouse changed on disk"}},
		{"an incomplete wheelhouse", []string{"bake", "--output", "oci:incomplete"}, 1, []string{"is missing", "hint: run 'larder fetch'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			switch tt.name {
			case "bad SOURCE_DATE_EPOCH":
				t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
			case "a damaged wheelhouse":
				data, _ := os.ReadFile(wheel)
				os.WriteFile(wheel, []byte(strings.Repeat("x", len(data))), 0o644)
				t.Cleanup(func() { os.WriteFile(wheel, data, 0o644) })
			case "an incomplete wheelhouse":
				data, _ := os.ReadFile(wheel)
				os.Remove(wheel)
				t.Cleanup(func() { os.WriteFile(wheel, data, 0o644) })
			}
			code, _, stderr := run(t, dir, append(tt.args, bins...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s", code, tt.code, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
				t.Errorf("a stack trace for user error:\n%s", stderr)
			}
		})
	}
	for _, out := range []string{"out", "damaged", "incomplete"} {
		if _, err := os.Stat(filepath.Join(dir, out)); err == nil {
			t.Errorf("a failed bake left %s", out)
		}
	}
}

// TestBakeRefusesAPlatformTheLockHasNoTargetFor bakes and exports a lock
// made for linux/amd64 only for linux/arm64: the image would lack every
// arm64 wheel while carrying the lock's digest, so both refuse and name
// the lock's targets.
func TestBakeRefusesAPlatformTheLockHasNoTargetFor(t *testing.T) {
	dir := newProject(t, pypitest.Start(t, smallIndex()), "web\nfast\n", `[wheelhouse]
dir = "wh"
[image]
base = "scratch"
output = "oci:out:dev"
[[target]]
platform = "linux/amd64"
python = "3.11"
`)
	mustRun(t, dir, []string{"lock"}, []string{"fetch"})
	bins := indexBinaryFlags(t)
	tests := []struct {
		name string
		args []string
	}{
		{"bake", append([]string{"bake", "--platform", "linux/arm64"}, bins...)},
		{"bake with one good platform", append([]string{"bake", "--platform", "linux/amd64", "--platform", "linux/arm64"}, bins...)},
		{"wheelhouse-only bake", []string{"bake", "--wheelhouse-only", "--platform", "linux/arm64"}},
		{"export", []string{"export", "--oci-layout", "layout", "--platform", "linux/arm64"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := run(t, dir, tt.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2\n%s\n%s", code, out, stderr)
			}
			for _, want := range []string{"--platform linux/arm64", "no target", "linux/amd64:3.11", "larder lock"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
		})
	}
	for _, out := range []string{"out", "layout"} {
		if _, err := os.Stat(filepath.Join(dir, out)); err == nil {
			t.Errorf("a refused bake wrote %s", out)
		}
	}
	// The lock's own platform still bakes.
	if code, out, stderr := run(t, dir, append([]string{"bake", "--platform", "linux/amd64"}, bins...)...); code != 0 {
		t.Errorf("bake --platform linux/amd64: %d\n%s\n%s", code, out, stderr)
	}
}

// TestAPrivateIndexsCredentialsNeverGoIntoAnImage: larder.toml's index
// URL with a user and password is what lock and fetch use, but the
// image's index server falls through to it without them, and no blob of
// the image (its layers unpacked) holds the password.
func TestAPrivateIndexsCredentialsNeverGoIntoAnImage(t *testing.T) {
	dir, bins := bakeProject(t)
	const secret = "SUPERSECRET-7f3a"
	toml, err := os.ReadFile(filepath.Join(dir, "larder.toml"))
	if err != nil {
		t.Fatal(err)
	}
	withCreds := strings.Replace(string(toml), "url = \"http://", "url = \"http://ci:"+secret+"@", 1)
	if withCreds == string(toml) {
		t.Fatalf("no http index URL in larder.toml:\n%s", toml)
	}
	writeFiles(t, dir, map[string]string{"larder.toml": withCreds})
	if code, out, stderr := run(t, dir, append([]string{"bake"}, bins...)...); code != 0 {
		t.Fatalf("bake: %d\n%s\n%s", code, out, stderr)
	}
	blobs := filepath.Join(dir, "out", "blobs", "sha256")
	entries, err := os.ReadDir(blobs)
	if err != nil || len(entries) == 0 {
		t.Fatalf("no blobs in the layout: %v", err)
	}
	sawConfig := false
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(blobs, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if zr, err := gzip.NewReader(bytes.NewReader(data)); err == nil {
			if data, err = io.ReadAll(zr); err != nil {
				t.Fatalf("blob %s: %v", e.Name(), err)
			}
		}
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("blob %s holds the index's password", e.Name())
		}
		if bytes.Contains(data, []byte(`"upstream": "http://127.0.0.1:`)) {
			sawConfig = true
		}
	}
	if !sawConfig {
		t.Error("no layer holds the index server's configuration with its upstream, without credentials")
	}
}
