// Package indexembed carries the larder-index binaries that `make build`
// embeds in larder, so that a lone larder binary can bake images for
// linux/amd64 and linux/arm64 without a larder-index file beside it.
//
// The binaries are gzipped in bin/ at build time and not committed; a
// larder built without them (go build straight from the source) embeds
// none, and bake then looks beside the executable or takes
// --index-binary.
package indexembed

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

//go:embed bin
var files embed.FS

const prefix, suffix = "larder-index-", ".gz"

// Platforms lists the platforms whose larder-index is embedded, sorted.
func Platforms() []string {
	entries, _ := fs.ReadDir(files, "bin")
	var out []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, prefix) && strings.HasSuffix(name, suffix) {
			out = append(out, strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(name, prefix), suffix), "-", "/"))
		}
	}
	sort.Strings(out)
	return out
}

// Extract writes every embedded binary under dir, in a folder named by the
// sha256 of its bytes, and returns platform to path. A file already there
// is reused only when its bytes are the embedded ones; a new one is written
// to a temporary name and renamed.
func Extract(dir string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range Platforms() {
		path, err := extract(dir, p)
		if err != nil {
			return nil, fmt.Errorf("extracting the embedded larder-index for %s: %w", p, err)
		}
		out[p] = path
	}
	return out, nil
}

func extract(dir, platform string) (string, error) {
	gz, err := files.ReadFile("bin/" + prefix + strings.ReplaceAll(platform, "/", "-") + suffix)
	if err != nil {
		return "", err
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return "", err
	}
	bin, err := io.ReadAll(zr)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(bin)
	dst := filepath.Join(dir, hex.EncodeToString(sum[:]), prefix+strings.ReplaceAll(platform, "/", "-"))
	// The cache folder is the user's: a file there is reused only when its
	// bytes are still the embedded ones.
	if have, err := os.ReadFile(dst); err == nil && bytes.Equal(have, bin) {
		return dst, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(bin); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return dst, os.Rename(tmp.Name(), dst)
}
