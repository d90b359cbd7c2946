package images

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/larder-build/larder/internal/indexbin"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/tartest"
	"github.com/larder-build/larder/internal/wheelhousetest"
	"github.com/larder-build/larder/wheelhouse"
)

// indexBinaries are real larder-index binaries for amd64 and arm64.
func indexBinaries(t testing.TB) map[string]string {
	t.Helper()
	return indexbin.Build(t, "amd64", "arm64")
}

// tarLayer is a real layer holding the given files.
func tarLayer(t testing.TB, files map[string]string) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, content := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(1, 0)})
		tw.Write([]byte(content))
	}
	tw.Close()
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// baseImage is a small Docker-schema image for a platform, with a real
// entrypoint, command and environment.
func baseImage(t testing.TB, arch string) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image,
		tarLayer(t, map[string]string{"etc/os-release": "ID=debian\nARCH=" + arch + "\n"}),
		tarLayer(t, map[string]string{"usr/bin/app": "#!/bin/sh\necho app\n"}))
	if err != nil {
		t.Fatal(err)
	}
	return editConfig(t, img, func(cf *v1.ConfigFile) {
		cf.OS, cf.Architecture = "linux", arch
		cf.Config.Entrypoint = []string{"/usr/bin/tini", "--"}
		cf.Config.Cmd = []string{"bash"}
		cf.Config.Env = []string{"PATH=/usr/bin", "PIP_INDEX_URL=https://pypi.org/simple/"}
		cf.Config.Labels = map[string]string{"maintainer": "edx"}
	})
}

// editConfig returns img with a copy of its config file edited by edit.
func editConfig(t testing.TB, img v1.Image, edit func(*v1.ConfigFile)) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	edit(cf)
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

// imageLayout writes img as a new OCI layout with tag, and returns its
// reference.
func imageLayout(t testing.TB, img v1.Image, tag string) Ref {
	t.Helper()
	dir := filepath.Join(t.TempDir(), tag)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{refNameAnnotation: tag})); err != nil {
		t.Fatal(err)
	}
	return mustRef(t, "oci:"+dir+":"+tag)
}

// baseLayout writes a two-platform base index as an OCI layout with tag
// "bookworm", and returns its reference.
func baseLayout(t testing.TB) Ref {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "base")
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: baseImage(t, "amd64"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: baseImage(t, "arm64"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}})
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{refNameAnnotation: "bookworm"})); err != nil {
		t.Fatal(err)
	}
	return mustRef(t, "oci:"+dir+":bookworm")
}

func mustRef(t testing.TB, s string) Ref {
	t.Helper()
	r, err := ParseRef(s, false)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// sample is a store of real distributions: pure wheels, an sdist and
// platform wheels for amd64 and arm64.
func sample(t testing.TB) *wheelhouse.Store {
	t.Helper()
	var files []*pypitest.File
	for i := range 30 {
		files = append(files, wheelhousetest.Dist(t, fmt.Sprintf("pure-project-%02d", i), "1.0", 8000, false, "py3-none-any")...)
	}
	files = append(files, wheelhousetest.Dist(t, "mysqlclient", "2.2.4", 0, true)...)
	for _, name := range []string{"lxml", "numpy", "cryptography"} {
		files = append(files, wheelhousetest.Dist(t, name, "1.0", 20000, false,
			"cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64", "cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64")...)
	}
	return wheelhousetest.Store(t, wheelhousetest.Dir(t), files...)
}

// request is a bake of the store onto base into out.
func request(t testing.TB, s *wheelhouse.Store, base, out Ref, platforms ...string) Request {
	t.Helper()
	if len(platforms) == 0 {
		platforms = []string{"linux/amd64", "linux/arm64"}
	}
	return Request{
		Store: s, Entries: s.Entries(), Platforms: platforms, Base: base, Output: out,
		IndexBinaries: indexBinaries(t), IndexConfig: []byte(`{"wheelhouse":"/wheelhouse"}`),
		IndexURL: "http://127.0.0.1:3141/simple/", layerDir: filepath.Join(t.TempDir(), "layers"),
		Created: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC), Version: "test", LockSHA256: strings.Repeat("a", 64),
	}
}

// sampleRequest is a bake of a new sample store onto the base image into
// out (a reference), where the refresh tests start.
func sampleRequest(t testing.TB, out string, platforms ...string) (*wheelhouse.Store, Ref, Request) {
	t.Helper()
	s := sample(t)
	ref := mustRef(t, out)
	return s, ref, request(t, s, baseLayout(t), ref, platforms...)
}

func bake(t testing.TB, req Request) *Report {
	t.Helper()
	rep, err := Bake(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// loggedRegistry is go-containerregistry's in-process registry behind a
// log of every request.
type loggedRegistry struct {
	*httptest.Server
	mu  sync.Mutex
	log []string
}

func newRegistry(t testing.TB) *loggedRegistry {
	r := &loggedRegistry{}
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.log = append(r.log, req.Method+" "+req.URL.Path+"?"+req.URL.RawQuery)
		r.mu.Unlock()
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *loggedRegistry) host() string { return strings.TrimPrefix(r.URL, "http://") }

// uploads lists the digests of blobs uploaded since the log was reset.
func (r *loggedRegistry) uploads() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, l := range r.log {
		if strings.HasPrefix(l, "PUT ") && strings.Contains(l, "/blobs/uploads/") {
			if _, d, ok := strings.Cut(l, "digest="); ok {
				d, _, _ = strings.Cut(d, "&")
				out = append(out, strings.ReplaceAll(d, "%3A", ":"))
			}
		}
	}
	return out
}

// requests lists the requests since the log was reset.
func (r *loggedRegistry) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.log...)
}

func (r *loggedRegistry) reset() {
	r.mu.Lock()
	r.log = nil
	r.mu.Unlock()
}

// checkReadable reads what a bake wrote with go-containerregistry's own
// readers, not larder's, and validates every blob: an OCI layout's whole
// index, or a docker-archive's image.
func checkReadable(t testing.TB, out Ref) {
	t.Helper()
	switch out.Transport {
	case OCI:
		p, err := layout.FromPath(out.Path)
		if err != nil {
			t.Fatal(err)
		}
		idx, err := p.ImageIndex()
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Index(idx); err != nil {
			t.Errorf("the layout written is not whole: %v", err)
		}
	case DockerArchive:
		img, err := tarball.ImageFromPath(out.Path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Image(img); err != nil {
			t.Errorf("the archive written is not whole: %v", err)
		}
	default:
		t.Fatalf("checkReadable reads OCI layouts and docker-archives, not %s", out.Transport)
	}
}

// flatten reads an image's file system as a container sees it (whiteouts
// applied), file name to content.
func flatten(t testing.TB, img v1.Image) map[string][]byte {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	out := map[string][]byte{}
	for h, b := range tartest.Members(t, rc) {
		if h.Typeflag == tar.TypeReg {
			out[strings.TrimPrefix(h.Name, "/")] = b
		}
	}
	return out
}

// extract writes the image's /wheelhouse into a folder and returns it.
func extract(t testing.TB, fs map[string][]byte) string {
	t.Helper()
	root := t.TempDir()
	for name, data := range fs {
		if !strings.HasPrefix(name, "wheelhouse/") {
			continue
		}
		p := filepath.Join(root, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(root, "wheelhouse")
}
