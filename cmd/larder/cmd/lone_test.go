package cmd

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/larder-build/larder/images"
	"github.com/larder-build/larder/internal/indexbin"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/testenv"
)

// TestALoneLarderBinaryBakesForAmd64AndArm64 builds larder as 'make build'
// does, with both larder-index binaries embedded (through a go build
// overlay, so the source tree is untouched), copies nothing else beside
// it, and bakes a two-platform image with it.
func TestALoneLarderBinaryBakesForAmd64AndArm64(t *testing.T) {
	testenv.Slow(t, "builds larder")
	_, self, _, _ := runtime.Caller(0)
	embedDir := filepath.Join(filepath.Dir(self), "..", "indexembed", "bin")
	work := t.TempDir()
	overlay := map[string]map[string]string{"Replace": {}}
	for platform, path := range indexbin.Build(t, "amd64", "arm64") {
		name := "larder-index-" + strings.ReplaceAll(platform, "/", "-") + ".gz"
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(raw)
		zw.Close()
		dst := filepath.Join(work, name)
		if err := os.WriteFile(dst, gz.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		abs, _ := filepath.Abs(filepath.Join(embedDir, name))
		overlay["Replace"][abs] = dst
	}
	ov, _ := json.Marshal(overlay)
	if err := os.WriteFile(filepath.Join(work, "overlay.json"), ov, 0o644); err != nil {
		t.Fatal(err)
	}
	lone := filepath.Join(t.TempDir(), "larder")
	build := exec.Command("go", "build", "-trimpath", "-overlay", filepath.Join(work, "overlay.json"), "-o", lone, "github.com/larder-build/larder/cmd/larder")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building larder: %v\n%s", err, out)
	}
	if entries, _ := os.ReadDir(filepath.Dir(lone)); len(entries) != 1 {
		t.Fatalf("the binary is not alone: %v", entries)
	}

	dir := newProject(t, pypitest.Start(t, smallIndex()), "web\nfast\n", `[image]
base = "scratch"
output = "oci:out:dev"
`+twoTargets)
	env := append(os.Environ(), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "HOME="+dir)
	for _, args := range [][]string{{"lock"}, {"fetch"}, {"bake", "--json"}} {
		cmd := exec.Command(lone, append(args, "--no-progress")...)
		cmd.Dir, cmd.Env = dir, env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("larder %s: %v\n%s\n%s", args[0], err, stdout.String(), stderr.String())
		}
		if args[0] != "bake" {
			continue
		}
		var rep images.Report
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
			t.Fatalf("bake --json: %v\n%s", err, stdout.String())
		}
		var platforms []string
		for _, img := range rep.Images {
			platforms = append(platforms, img.Platform)
		}
		if strings.Join(platforms, " ") != "linux/amd64 linux/arm64" {
			t.Errorf("baked %v, want linux/amd64 and linux/arm64", platforms)
		}
	}
}
