package reqfile

import (
	"io/fs"
	"path/filepath"
	"strings"
	"time"
)

// memFS is an in-memory file tree keyed by clean absolute path; directories
// exist where some file lies below them.
type memFS map[string]string

func (m memFS) ReadFile(name string) ([]byte, error) {
	if s, ok := m[filepath.Clean(name)]; ok {
		return []byte(s), nil
	}
	if m.isDir(name) {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrInvalid}
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

func (m memFS) Stat(name string) (fs.FileInfo, error) {
	name = filepath.Clean(name)
	if s, ok := m[name]; ok {
		return memInfo{name: filepath.Base(name), size: int64(len(s))}, nil
	}
	if m.isDir(name) {
		return memInfo{name: filepath.Base(name), dir: true}, nil
	}
	return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
}

func (m memFS) isDir(name string) bool {
	prefix := strings.TrimSuffix(filepath.Clean(name), "/") + "/"
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

type memInfo struct {
	name string
	size int64
	dir  bool
}

func (i memInfo) Name() string { return i.name }
func (i memInfo) Size() int64  { return i.size }
func (i memInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return i.dir }
func (i memInfo) Sys() any           { return nil }
