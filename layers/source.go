package layers

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/larder-build/larder/wheelhouse"
)

// sourceRecord is what the Builder's folder keeps of a source file it
// hashed: the sha256 of the file whose identity (see identity) was Stat.
type sourceRecord struct {
	Path   string `json:"path"`
	Stat   string `json:"stat"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// racyWindow is how long a file must have been left alone before its
// hash is remembered.
const racyWindow = time.Second

// sourceExt names the records of hashed source files in the folder.
const sourceExt = ".source"

// hashSource returns the sha256 and size of a file. A Builder keeping
// layers remembers them in its folder under the file's identity, so that
// the next bake stats the larder-index binary (8 MB, in every image)
// instead of reading it; a file changed since, even to the same size and
// modification time, has another change time and is read again. What is
// read is checked again whenever the layer is built from it.
func (b *Builder) hashSource(path string) (string, int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", 0, err
	}
	id := identity(st)
	abs, err := filepath.Abs(path)
	if b.dir == "" || id == "" || err != nil {
		return wheelhouse.HashFile(path)
	}
	key := sha256.Sum256([]byte(abs))
	rec := filepath.Join(b.dir, hex.EncodeToString(key[:16])+sourceExt)
	if data, err := os.ReadFile(rec); err == nil {
		var r sourceRecord
		if json.Unmarshal(data, &r) == nil && r.Path == abs && r.Stat == id && r.Size == st.Size() && len(r.SHA256) == 64 {
			now := time.Now()
			os.Chtimes(rec, now, now) // for Prune: recently used
			return r.SHA256, r.Size, nil
		}
	}
	sum, n, err := wheelhouse.HashFile(path)
	if err != nil {
		return "", 0, err
	}
	// Recorded only when the file did not change while it was read, nor
	// within the last second: the kernel stamps change times from a
	// clock that ticks every few milliseconds, and a file changed again
	// within the same tick would keep its identity (git's "racy clean").
	// The record is a cache; lost or torn, the file is only read again.
	after, err := os.Stat(path)
	if err == nil && identity(after) == id && n == st.Size() && !b.dryRun && time.Since(changed(after)) > racyWindow {
		data, _ := json.Marshal(sourceRecord{Path: abs, Stat: id, Size: n, SHA256: sum})
		if err := wheelhouse.WriteAtomic(rec, 0o644, false, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
			return "", 0, fmt.Errorf("recording the sha256 of %s: %w", path, err)
		}
	}
	return sum, n, nil
}

// IndexFiles are the larder-index layer: the binary and its
// configuration, the binary's sha256 remembered in the Builder's folder.
func (b *Builder) IndexFiles(binary string, config []byte) ([]File, error) {
	sum, size, err := b.hashSource(binary)
	if err != nil {
		return nil, fmt.Errorf("reading the larder-index binary: %w", err)
	}
	return indexFiles(binary, config, sum, size), nil
}
