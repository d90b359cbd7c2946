package pep517

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/larder-build/larder/internal/readlimit"
	"github.com/larder-build/larder/resolver/dist"
)

// maxUnpacked bounds the bytes an sdist may unpack to.
const maxUnpacked = 2 << 30

// Unpack extracts an sdist (.tar.gz, .tgz or .zip) into dir and returns
// its top folder. Entries that would land outside dir, links, devices and
// absurd sizes are refused: an sdist is untrusted input.
func Unpack(sdist, dir string) (string, error) {
	var total int64
	top := ""
	write := func(name string, mode os.FileMode, r io.Reader, isDir bool) error {
		clean := filepath.Clean(filepath.FromSlash(strings.TrimPrefix(name, "./")))
		if clean == "." || filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
			return fmt.Errorf("entry %q escapes the archive", name)
		}
		first, _, _ := strings.Cut(filepath.ToSlash(clean), "/")
		if top == "" {
			top = first
		}
		dst := filepath.Join(dir, clean)
		if isDir {
			return os.MkdirAll(dst, 0o755)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode.Perm()|0o600)
		if err != nil {
			return err
		}
		n, err := io.Copy(f, io.LimitReader(r, maxUnpacked-total+1))
		total += n
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil && total > maxUnpacked {
			err = fmt.Errorf("unpacks to more than %d bytes", int64(maxUnpacked))
		}
		return err
	}
	var err error
	switch {
	case strings.HasSuffix(sdist, ".zip"):
		err = unzip(sdist, write)
	case strings.HasSuffix(sdist, ".tar.gz"), strings.HasSuffix(sdist, ".tgz"):
		err = untar(sdist, write)
	default:
		err = errors.New("unsupported sdist format (want .tar.gz or .zip)")
	}
	if err != nil {
		return "", fmt.Errorf("unpacking %s: %w", filepath.Base(sdist), err)
	}
	if top == "" {
		return "", fmt.Errorf("unpacking %s: empty archive", filepath.Base(sdist))
	}
	return filepath.Join(dir, top), nil
}

type writeFunc func(name string, mode os.FileMode, r io.Reader, isDir bool) error

func untar(name string, write writeFunc) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = write(h.Name, 0o755, nil, true)
		case tar.TypeReg:
			err = write(h.Name, os.FileMode(h.Mode), tr, false)
		case tar.TypeXGlobalHeader, tar.TypeXHeader:
			continue
		default:
			continue // links and devices are never needed to build
		}
		if err != nil {
			return err
		}
	}
}

func unzip(name string, write writeFunc) error {
	f, size, err := readlimit.Open(name, readlimit.FollowLinks)
	if err != nil {
		return err
	}
	defer f.Close()
	z, err := readlimit.OpenZip(f, size, readlimit.MaxZipMembers)
	if err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	for _, f := range z.File {
		if f.FileInfo().IsDir() {
			if err := write(f.Name, 0o755, nil, true); err != nil {
				return err
			}
			continue
		}
		if !f.Mode().IsRegular() {
			continue
		}
		r, err := f.Open()
		if err != nil {
			return err
		}
		err = write(f.Name, f.Mode(), r, false)
		r.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// wheelMetadata reads METADATA from a built wheel.
func wheelMetadata(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	_, raw, err := dist.ReadWheelMetadata(f, st.Size())
	return raw, err
}
