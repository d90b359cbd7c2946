// Package baseimage makes Python base images without Docker Hub, for the
// end-to-end run and the demo: Debian bookworm from debootstrap (cached,
// since it needs Debian's mirror and a minute), or, in seconds, a minimal
// image of this machine's own Python.
package baseimage

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/larder-build/larder/internal/testenv"
)

// Tag is the ref name of the image in the layouts this package writes.
const Tag = "base"

// Suite and Packages are what Debootstrap installs.
const (
	Suite  = "bookworm"
	Mirror = "http://deb.debian.org/debian"
)

// Packages are installed into the Debian base.
var Packages = []string{"python3", "python3-pip", "python3-venv"}

// CacheKey names a Debian base by what it holds.
func CacheKey() string {
	h := sha256.Sum256([]byte("debootstrap minbase " + Suite + " " + strings.Join(Packages, ",") + " v1"))
	return Suite + "-" + hex.EncodeToString(h[:6])
}

// Cached returns the OCI layout of the Debian base in cacheDir, if it was
// made before.
func Cached(cacheDir string) (string, bool) {
	dir := filepath.Join(cacheDir, CacheKey())
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err == nil {
		return dir, true
	}
	return "", false
}

// Debootstrap returns the OCI layout of a Debian minbase with Python, pip
// and venv for linux/amd64, made with debootstrap once and kept in
// cacheDir under CacheKey.
func Debootstrap(ctx context.Context, cacheDir string, log io.Writer) (string, error) {
	if dir, ok := Cached(cacheDir); ok {
		return dir, nil
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return "", fmt.Errorf("making the Debian base: debootstrap is not installed (apt-get install debootstrap)")
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", err
	}
	work, err := os.MkdirTemp(cacheDir, ".work-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	rootfs := filepath.Join(work, "rootfs")
	cmd := exec.CommandContext(ctx, "debootstrap", "--variant=minbase", "--include="+strings.Join(Packages, ","), Suite, rootfs, Mirror)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("debootstrap %s: %w", Suite, err)
	}
	// Package lists and downloaded .debs are of no use in the image.
	for _, glob := range []string{"var/cache/apt/archives/*.deb", "var/lib/apt/lists/*_Packages", "var/lib/apt/lists/*Release*"} {
		matches, _ := filepath.Glob(filepath.Join(rootfs, glob))
		for _, m := range matches {
			os.Remove(m)
		}
	}
	layerTar := filepath.Join(work, "rootfs.tar.gz")
	tarCmd := exec.CommandContext(ctx, "tar", "--numeric-owner", "--exclude=./dev/*", "-C", rootfs, "-czf", layerTar, ".")
	if out, err := tarCmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("packing the Debian rootfs: %w\n%s", err, out)
	}
	l, err := tarball.LayerFromFile(layerTar, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return "", err
	}
	img, err := image(l, v1.Config{
		Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"},
		Cmd: []string{"bash"},
	})
	if err != nil {
		return "", err
	}
	out := filepath.Join(work, "layout")
	if err := writeLayout(out, img); err != nil {
		return "", err
	}
	final := filepath.Join(cacheDir, CacheKey())
	if err := os.Rename(out, final); err != nil {
		return "", err
	}
	return final, nil
}

// image is an OCI image for linux/amd64 of one layer.
func image(l v1.Layer, cfg v1.Config) (v1.Image, error) {
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(img, l)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Config = "linux", "amd64", cfg
	return mutate.ConfigFile(img, cf)
}

func writeLayout(dir string, img v1.Image) error {
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": Tag}))
}

// HostPython writes, into the OCI layout dir, a minimal linux/amd64 image
// of this machine's Python: the interpreter, its standard library, pip,
// the shared libraries they load, and a shell. It is what the demo runs pip
// in when there is no Debian base: made in seconds, with no network.
func HostPython(dir string) error {
	python, err := filepath.EvalSymlinks("/usr/bin/python3")
	if err != nil {
		return fmt.Errorf("no /usr/bin/python3 to make a base image of: %w", err)
	}
	ver := strings.TrimPrefix(filepath.Base(python), "python") // "3.11"
	stdlib := "/usr/lib/python" + ver
	paths := []string{python, "/usr/bin/python3", "/bin/sh", "/usr/bin/env", stdlib,
		"/usr/lib/python3/dist-packages/pip", "/usr/share/python-wheels"}
	if _, err := os.Stat(filepath.Join(stdlib, "os.py")); err != nil {
		return fmt.Errorf("no standard library at %s: %w", stdlib, err)
	}
	// The libraries of the interpreter, the shell and every extension.
	bins := []string{python, "/bin/sh"}
	exts, _ := filepath.Glob(filepath.Join(stdlib, "lib-dynload", "*.so"))
	libs, err := sharedLibraries(append(bins, exts...))
	if err != nil {
		return err
	}
	paths = append(paths, libs...)
	f, err := os.CreateTemp("", "larder-host-python-*.tar")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := writeTree(f, paths, func(p string) bool {
		// Debian marks its Python as externally managed (PEP 668); the
		// image is ours to install into. Tests and caches are dead weight.
		return filepath.Base(p) == "EXTERNALLY-MANAGED" || strings.Contains(p, "/test/") || strings.HasSuffix(p, "/test") ||
			strings.Contains(p, "__pycache__")
	}); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	l, err := tarball.LayerFromFile(f.Name(), tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return err
	}
	img, err := image(l, v1.Config{Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"}, Cmd: []string{"python3"}})
	if err != nil {
		return err
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if err := writeLayout(tmp, img); err != nil {
		return err
	}
	os.RemoveAll(dir)
	return os.Rename(tmp, dir)
}

// sharedLibraries lists what ldd says the files load, with the dynamic
// loader.
func sharedLibraries(files []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, f := range files {
		b, err := exec.Command("ldd", f).Output()
		if err != nil {
			continue // a static binary, or not an ELF file
		}
		for _, line := range strings.Split(string(b), "\n") {
			fields := strings.Fields(line)
			var p string
			switch {
			case len(fields) >= 3 && fields[1] == "=>":
				p = fields[2]
			case len(fields) >= 1 && strings.HasPrefix(fields[0], "/"):
				p = fields[0]
			}
			if p != "" && !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("ldd found no shared libraries for the host Python")
	}
	return out, nil
}

// writeTree writes files and folders (recursively) into a tar, under
// their real paths, with every folder above them, and with the symbolic
// links on the way (/lib -> usr/lib on merged-/usr systems, the loader's
// links) written as links.
func writeTree(w io.Writer, paths []string, skip func(string) bool) error {
	t := &treeWriter{tw: tar.NewWriter(w), done: map[string]bool{}, skip: skip}
	for _, p := range paths {
		if err := t.path(filepath.Clean(p), true); err != nil {
			return err
		}
	}
	// pip builds and unpacks under /tmp.
	if err := t.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777}); err != nil {
		return err
	}
	return t.tw.Close()
}

type treeWriter struct {
	tw   *tar.Writer
	done map[string]bool
	skip func(string) bool
}

// links writes the symbolic links among p's folders, then returns p's
// real path.
func (t *treeWriter) links(p string) (string, error) {
	parent := filepath.Dir(p)
	if parent == "/" {
		return p, nil
	}
	if _, err := t.links(parent); err != nil {
		return "", err
	}
	st, err := os.Lstat(parent)
	if err != nil {
		return "", err
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		if err := t.path(parent, false); err != nil {
			return "", err
		}
	}
	real, err := filepath.EvalSymlinks(parent)
	if err != nil {
		return "", err
	}
	if err := t.dir(real); err != nil {
		return "", err
	}
	return filepath.Join(real, filepath.Base(p)), nil
}

// dir writes a real folder and the folders above it, headers only.
func (t *treeWriter) dir(d string) error {
	if d == "/" || t.done[d] {
		return nil
	}
	if err := t.dir(filepath.Dir(d)); err != nil {
		return err
	}
	t.done[d] = true
	st, err := os.Stat(d)
	if err != nil {
		return err
	}
	return t.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(d, "/") + "/", Mode: int64(st.Mode().Perm())})
}

// path writes p (a file, a link and what it points to, or a folder and,
// when recurse, its content) under its real path.
func (t *treeWriter) path(p string, recurse bool) error {
	if t.skip(p) {
		return nil
	}
	q, err := t.links(p)
	if err != nil {
		return err
	}
	if t.done[q] && !recurse {
		return nil
	}
	st, err := os.Lstat(q)
	if err != nil {
		return err
	}
	if st.IsDir() {
		if err := t.dir(q); err != nil {
			return err
		}
		if !recurse {
			return nil
		}
		ents, err := os.ReadDir(q)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if err := t.path(filepath.Join(q, e.Name()), true); err != nil {
				return err
			}
		}
		return nil
	}
	// A link or a file is written once, however many paths lead to it.
	if t.done[q] {
		return nil
	}
	t.done[q] = true
	name := strings.TrimPrefix(q, "/")
	switch {
	case st.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(q)
		if err != nil {
			return err
		}
		if err := t.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777}); err != nil {
			return err
		}
		abs := target
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(filepath.Dir(q), target)
		}
		return t.path(filepath.Clean(abs), recurse)
	case st.Mode().IsRegular():
		f, err := os.Open(q)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := t.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: st.Size(), Mode: int64(st.Mode().Perm())}); err != nil {
			return err
		}
		_, err = io.Copy(t.tw, f)
		return err
	}
	return nil // devices, sockets: not needed
}

// ForTest returns the Debian base 'make prepare' caches, as
// oci:DIR:TAG; the test skips, or fails in CI, without it.
func ForTest(tb testing.TB) string {
	tb.Helper()
	dir, ok := Cached(testenv.CacheDir("e2e"))
	if !ok {
		testenv.Need(tb, fmt.Errorf("no cached Debian base image: run 'make prepare'"))
	}
	return "oci:" + dir + ":" + Tag
}
