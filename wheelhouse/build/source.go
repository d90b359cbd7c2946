package build

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/larder-build/larder/wheelhouse"
)

// copyTree copies src into dst (which must not exist) with regular files,
// folders and symbolic links. Builds write into their source tree (build/,
// *.egg-info), so the cached checkout is never built in place; .git comes
// along because version plugins such as setuptools-scm read it.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case info.Mode().IsRegular():
			return copyFile(path, target, info.Mode().Perm()|0o600)
		default:
			return nil // sockets and devices have no place in a source tree
		}
	})
}

// copyFile copies src to dst, replacing dst.
func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// fileSHA256 returns the hex sha256 of a file.
func fileSHA256(name string) (string, error) {
	sum, _, err := wheelhouse.HashFile(name)
	return sum, err
}
