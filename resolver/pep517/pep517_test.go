package pep517

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/testenv"
)

func writeTarGz(t *testing.T, name string, files map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for n, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	gz.Close()
	if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestUnpackRefusesEntriesOutsideTheFolder(t *testing.T) {
	for _, evil := range []string{"../evil.txt", "/etc/evil.txt", "pkg-1.0/../../evil.txt"} {
		dir := t.TempDir()
		sdist := filepath.Join(dir, "pkg-1.0.tar.gz")
		writeTarGz(t, sdist, map[string]string{evil: "x"})
		out := filepath.Join(dir, "out")
		_, err := Unpack(sdist, out)
		if err == nil || !strings.Contains(err.Error(), "escapes") {
			t.Errorf("%s: got %v, want a refusal", evil, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "evil.txt")); err == nil {
			t.Errorf("%s was written outside the folder", evil)
		}
	}
}

func TestUnpackReturnsTheTopFolder(t *testing.T) {
	dir := t.TempDir()
	sdist := filepath.Join(dir, "pkg-1.0.tar.gz")
	writeTarGz(t, sdist, map[string]string{"pkg-1.0/PKG-INFO": "Metadata-Version: 2.1\n", "pkg-1.0/pkg/__init__.py": ""})
	top, err := Unpack(sdist, filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(top) != "pkg-1.0" {
		t.Errorf("top = %s", top)
	}
}

func TestMetadataRunsTheBuildBackend(t *testing.T) {
	testenv.Slow(t, "runs a build backend in python3")
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import setuptools, wheel").Run(); err != nil {
		t.Skip("Debian's python3 with setuptools and wheel is needed")
	}
	p := &pypitest.Project{Name: "Demo-Pkg"}
	r := &pypitest.Release{Version: "1.2", Requires: []string{"six>=1.0", `tomli ; python_version < "3.11"`}}
	f, err := pypitest.BuildSdist(p, r)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sdist := filepath.Join(dir, f.Filename)
	if err := os.WriteFile(sdist, f.Data, 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := Unpack(sdist, filepath.Join(dir, "src"))
	if err != nil {
		t.Fatal(err)
	}
	md, err := Metadata(context.Background(), python, src)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Name: Demo-Pkg", "Version: 1.2", "Requires-Dist: six"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("metadata lacks %q:\n%s", want, md)
		}
	}
}

func TestMetadataReportsABrokenBackendWithItsOutput(t *testing.T) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "pyproject.toml"), []byte("[build-system]\nrequires=[]\nbuild-backend = \"no_such_backend\"\n"), 0o644)
	_, err := Metadata(context.Background(), "python3", src)
	if err == nil || !strings.Contains(err.Error(), "no_such_backend") {
		t.Errorf("got %v", err)
	}
}
