package layers

import (
	"fmt"
	"io/fs"
	"os"
	"path"

	"github.com/larder-build/larder/wheelhouse"
)

// Paths of larder's files in an image.
const (
	// IndexBinaryPath is where the larder-index binary goes.
	IndexBinaryPath = "/usr/local/bin/larder-index"
	// IndexConfigPath is where its configuration goes (the default that
	// larder-index reads).
	IndexConfigPath = "/etc/larder/index.json"
	// DefaultPath is where the wheelhouse goes.
	DefaultPath = "/wheelhouse"
)

// Content says where a stack's files come from and where they go.
type Content struct {
	// Store holds the wheelhouse files.
	Store *wheelhouse.Store
	// Path is the wheelhouse folder in the image (DefaultPath when "").
	Path string
}

func (c Content) dir() string {
	if c.Path == "" {
		return DefaultPath
	}
	return c.Path
}

// file is a wheelhouse file in the image, read from the store.
func (c Content) file(name, sha string, size int64) File {
	return File{Path: path.Join(c.dir(), wheelhouse.FilesDir, name), Mode: 0o644, Source: c.Store.Path(name), Size: size, SHA256: sha}
}

// sidecar is a wheel's .metadata file, read from the store.
func (c Content) sidecar(name, sha string) (File, error) {
	src := c.Store.MetadataPath(name)
	st, err := os.Stat(src)
	if err != nil {
		if pe, ok := err.(*fs.PathError); ok {
			err = pe.Err // SourceError names the file
		}
		return File{}, fmt.Errorf("reading the metadata of %s: %w", name, &SourceError{File: src, Err: err})
	}
	return File{Path: path.Join(c.dir(), wheelhouse.FilesDir, name+".metadata"), Mode: 0o644, Source: src, Size: st.Size(), SHA256: sha}, nil
}

// entryFiles are a wheelhouse entry's file and sidecar.
func (c Content) entryFiles(e wheelhouse.Entry) ([]File, error) {
	out := []File{c.file(e.Filename, e.SHA256, e.Size)}
	if hasSidecar(e) {
		sc, err := c.sidecar(e.Filename, e.MetadataSHA256)
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, nil
}

// BucketFiles are the files of a bucket laid out by this bake, found among
// the stack's entries.
func (c Content) BucketFiles(s *Stack, b Bucket) ([]File, error) {
	byName := map[string]wheelhouse.Entry{}
	for _, e := range s.Entries {
		byName[e.Filename] = e
	}
	var out []File
	for _, f := range b.Files {
		e, ok := byName[f.Name]
		if !ok || e.SHA256 != f.SHA256 {
			return nil, fmt.Errorf("bucket %s: %s is not in the image's wheelhouse", b, f.Name)
		}
		fs, err := c.entryFiles(e)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	return out, nil
}

// DeltaFiles are the files of a stack's top layer: the files the buckets
// do not hold, whiteouts for the files of kept buckets that the image no
// longer has, and the image's manifest.json and static simple index,
// which describe exactly the image's wheelhouse.
func (c Content) DeltaFiles(s *Stack) ([]File, error) {
	var out []File
	for _, e := range s.Delta {
		fs, err := c.entryFiles(e)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	for _, f := range s.Removed {
		out = append(out, File{Path: path.Join(c.dir(), wheelhouse.FilesDir, f.Name), Whiteout: true})
		if f.Metadata {
			out = append(out, File{Path: path.Join(c.dir(), wheelhouse.FilesDir, f.Name+".metadata"), Whiteout: true})
		}
	}
	// The manifest is marshalled while the pages are written: both are
	// made afresh at every bake, however small the delta.
	var m []byte
	var merr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		m, merr = wheelhouse.MarshalManifest(s.Entries)
	}()
	pages, err := wheelhouse.StaticPages(s.Entries)
	<-done
	if merr != nil {
		return nil, fmt.Errorf("writing the image's manifest: %w", merr)
	}
	if err != nil {
		return nil, err
	}
	out = append(out, DataFile(path.Join(c.dir(), wheelhouse.ManifestName), 0o644, m))
	for _, p := range pages {
		out = append(out, DataFile(path.Join(c.dir(), p.Path), 0o644, p.Data))
	}
	return out, nil
}

// IndexFiles are the larder-index layer: the binary and its configuration.
func IndexFiles(binary string, config []byte) ([]File, error) {
	sum, size, err := wheelhouse.HashFile(binary)
	if err != nil {
		return nil, fmt.Errorf("reading the larder-index binary: %w", err)
	}
	return indexFiles(binary, config, sum, size), nil
}

func indexFiles(binary string, config []byte, sum string, size int64) []File {
	return []File{
		{Path: IndexBinaryPath, Mode: 0o755, Source: binary, Size: size, SHA256: sum},
		DataFile(IndexConfigPath, 0o644, config),
	}
}
