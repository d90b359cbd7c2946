package layers

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"
)

// File is one entry of a layer.
type File struct {
	// Path is where the file goes in the image: absolute, with slashes,
	// without "." or ".." parts ("/wheelhouse/files/six-1.17.0-py2.py3-none-any.whl").
	Path string
	// Mode is the permission bits (0o644, 0o755).
	Mode int64
	// Exactly one of Source, Data or Whiteout says what the file holds.
	// Source is a file on disk, copied as it is when the layer is built;
	// Size and SHA256 are what it must hold, checked while it is read.
	Source string
	// Data is the content itself.
	Data []byte
	// Whiteout hides a file of a lower layer (the OCI ".wh." marker).
	Whiteout bool
	// Size and SHA256 (lowercase hex) describe Source's content; for Data
	// they are derived.
	Size   int64
	SHA256 string
}

// DataFile returns a File holding data.
func DataFile(p string, mode int64, data []byte) File {
	if data == nil {
		data = []byte{}
	}
	sum := sha256.Sum256(data)
	return File{Path: p, Mode: mode, Data: data, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
}

// check reports a File that cannot be written.
func (f File) check() error {
	if !validPath(f.Path) {
		return fmt.Errorf("layer entry %q: want an absolute path without . or .. parts", f.Path)
	}
	n := 0
	for _, set := range []bool{f.Source != "", f.Data != nil, f.Whiteout} {
		if set {
			n++
		}
	}
	switch {
	case n != 1:
		return fmt.Errorf("layer entry %s: want exactly one of a source file, data or a whiteout", f.Path)
	case f.Source != "" && (len(f.SHA256) != 64 || f.Size < 0):
		return fmt.Errorf("layer entry %s: a source file needs its size and sha256", f.Path)
	case f.Mode&^0o7777 != 0:
		return fmt.Errorf("layer entry %s: mode %o is not a permission mode", f.Path, f.Mode)
	}
	return nil
}

func validPath(p string) bool {
	if !strings.HasPrefix(p, "/") || p == "/" || strings.HasSuffix(p, "/") || strings.ContainsRune(p, 0) {
		return false
	}
	return path.Clean(p) == p
}

// name is the entry's name in the tar: relative, as image layers have them.
func (f File) name() string {
	if f.Whiteout {
		dir, base := path.Split(f.Path)
		return strings.TrimPrefix(dir, "/") + whiteoutPrefix + base
	}
	return strings.TrimPrefix(f.Path, "/")
}

// whiteoutPrefix marks a deleted file in an OCI layer.
const whiteoutPrefix = ".wh."

// dirMode is the mode of every folder a layer creates.
const dirMode = 0o755

// HashMismatchError reports a source file whose bytes are not those the
// wheelhouse recorded.
type HashMismatchError struct {
	File      string
	Want, Got string
}

func (e *HashMismatchError) Error() string {
	return fmt.Sprintf("%s: sha256 is %s, the wheelhouse manifest says %s", e.File, e.Got, e.Want)
}

// SourceError reports a source file that is missing, unreadable or not
// the size the wheelhouse recorded: the wheelhouse changed on disk.
type SourceError struct {
	File string
	Err  error
}

func (e *SourceError) Error() string { return fmt.Sprintf("%s: %v", e.File, e.Err) }

// Unwrap returns the cause.
func (e *SourceError) Unwrap() error { return e.Err }

// writeTar writes files as a reproducible tar: sorted by name, every parent
// folder before its content, mtime fixed, owners 0, no extended
// attributes, and the format left to archive/tar, which takes USTAR when
// the header fits and PAX only when it does not (a choice made from the
// header alone). Source files are hashed while copied and checked against
// their recorded sha256 and size. progress, when not nil, gets the number
// of content bytes written after each file.
func writeTar(w io.Writer, files []File, mtime time.Time, progress func(n int64)) error {
	sorted := append([]File(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name() < sorted[j].name() })
	tw := tar.NewWriter(w)
	dirs := map[string]bool{}
	for i, f := range sorted {
		if err := f.check(); err != nil {
			return err
		}
		if i > 0 && sorted[i-1].name() == f.name() {
			return fmt.Errorf("layer entry %s appears twice", f.Path)
		}
		if err := writeParents(tw, f.name(), dirs, mtime); err != nil {
			return err
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: f.name(), Mode: f.Mode, ModTime: mtime}
		switch {
		case f.Whiteout:
			hdr.Mode = 0o644
		case f.Data != nil:
			hdr.Size = int64(len(f.Data))
		default:
			hdr.Size = f.Size
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("writing %s into the layer: %w", f.Path, err)
		}
		switch {
		case f.Data != nil:
			if _, err := tw.Write(f.Data); err != nil {
				return fmt.Errorf("writing %s into the layer: %w", f.Path, err)
			}
		case f.Source != "":
			if err := copySource(tw, f); err != nil {
				return err
			}
		}
		if progress != nil {
			progress(hdr.Size)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("finishing the layer: %w", err)
	}
	return nil
}

// writeParents writes the folders above name that are not written yet.
func writeParents(tw *tar.Writer, name string, done map[string]bool, mtime time.Time) error {
	var missing []string
	for d := path.Dir(name); d != "." && d != "/" && !done[d]; d = path.Dir(d) {
		missing = append(missing, d)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		d := missing[i]
		done[d] = true
		hdr := &tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: dirMode, ModTime: mtime}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("writing folder %s into the layer: %w", d, err)
		}
	}
	return nil
}

// copySource copies a source file into the tar, checking its size and
// sha256 as it goes.
func copySource(w io.Writer, f File) error {
	in, err := os.Open(f.Source)
	if err != nil {
		return fmt.Errorf("reading %s: %w", f.Source, err)
	}
	defer in.Close()
	// At most the recorded size goes into the tar, whose entry is that
	// long (a byte more is its "write too long"); a byte read past it
	// means the file grew.
	n, got, err := copyHashing(w, in, f.Size)
	if err != nil {
		return fmt.Errorf("copying %s into the layer: %w", f.Source, err)
	}
	if n == f.Size {
		var more [1]byte
		k, err := io.ReadFull(in, more[:])
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading %s: %w", f.Source, err)
		}
		n += int64(k)
	}
	if n != f.Size {
		what := fmt.Sprintf("%d bytes", n)
		if n > f.Size {
			what = fmt.Sprintf("more than %d bytes", f.Size)
		}
		return &SourceError{File: f.Source, Err: fmt.Errorf("is %s, the wheelhouse manifest says %d", what, f.Size)}
	}
	if got != f.SHA256 {
		return &HashMismatchError{File: f.Source, Want: f.SHA256, Got: got}
	}
	return nil
}
