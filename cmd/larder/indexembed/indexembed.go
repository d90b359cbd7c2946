// Package indexembed carries the larder-index binaries that `make build`
// embeds in larder, so that a lone larder binary can bake images for
// linux/amd64 and linux/arm64 without a larder-index file beside it.
//
// The binaries are gzipped in bin/ at build time, each with the sha256 of
// its uncompressed bytes beside it, and not committed; a larder built
// without them (go build straight from the source) embeds none, and bake
// then looks beside the executable or takes --index-binary.
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
	"sync"

	"github.com/larder-build/larder/resolver/simple"
	"github.com/larder-build/larder/wheelhouse"
)

//go:embed bin
var files embed.FS

const prefix, suffix, sumSuffix = "larder-index-", ".gz", ".sha256"

// Platforms lists the platforms whose larder-index is embedded, sorted.
func Platforms() []string { return platforms(files) }

func platforms(fsys fs.FS) []string {
	entries, _ := fs.ReadDir(fsys, "bin")
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
//
// With the embedded sha256 beside a binary (make build writes it), a file
// already there is checked by hashing it, and the embedded binary is
// decompressed only to write it: a bake does not pay for decompressing
// every platform's 8 MB binary each time it starts. What is written is
// always the decompressed binary, whatever the sum says.
func Extract(dir string) (map[string]string, error) { return extractAll(files, dir) }

func extractAll(fsys fs.FS, dir string) (map[string]string, error) {
	ps := platforms(fsys)
	paths := make([]string, len(ps))
	errs := make([]error, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Go(func() { paths[i], errs[i] = extract(fsys, dir, p) })
	}
	wg.Wait()
	out := map[string]string{}
	for i, p := range ps {
		if errs[i] != nil {
			return nil, fmt.Errorf("extracting the embedded larder-index for %s: %w", p, errs[i])
		}
		out[p] = paths[i]
	}
	return out, nil
}

func extract(fsys fs.FS, dir, platform string) (string, error) {
	name := prefix + strings.ReplaceAll(platform, "/", "-")
	want, err := embeddedSum(fsys, name)
	if err != nil {
		return "", err
	}
	if want != "" {
		dst := filepath.Join(dir, want, name)
		// The cache folder is the user's: a file there is reused only
		// when its bytes still hash to the embedded binary's sum.
		if got, _, err := wheelhouse.HashFile(dst); err == nil && got == want {
			return dst, nil
		}
	}
	bin, err := decompress(fsys, name)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(bin)
	got := hex.EncodeToString(sum[:])
	dst := filepath.Join(dir, got, name)
	// Without a sum, or with one left from another build beside a newer
	// binary, the file there is compared with the embedded bytes.
	if got != want {
		if have, err := os.ReadFile(dst); err == nil && bytes.Equal(have, bin) {
			return dst, nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	if err := wheelhouse.WriteAtomic(dst, 0o755, false, func(w io.Writer) error { _, err := w.Write(bin); return err }); err != nil {
		return "", err
	}
	return dst, nil
}

// embeddedSum is the sha256 (lowercase hex) of a binary, from the file
// make build writes beside it: the binary's sha256, then its .gz's. It is
// "" when there is no such file, or when the .gz is not the one the sum
// was taken beside (a build cut short between the two): a sum is trusted
// only for the bytes it was made from.
func embeddedSum(fsys fs.FS, name string) (string, error) {
	data, err := fs.ReadFile(fsys, "bin/"+name+sumSuffix)
	if err != nil {
		return "", nil
	}
	fields := strings.Fields(string(data))
	if len(fields) != 2 || !simple.ValidSHA256(fields[0]) || !simple.ValidSHA256(fields[1]) {
		return "", fmt.Errorf("bin/%s%s holds no two sha256 sums (the binary's and its .gz's)", name, sumSuffix)
	}
	gz, err := fs.ReadFile(fsys, "bin/"+name+suffix)
	if err != nil {
		return "", err
	}
	if sum := sha256.Sum256(gz); hex.EncodeToString(sum[:]) != fields[1] {
		return "", nil
	}
	return fields[0], nil
}

// decompress returns the embedded binary's bytes.
func decompress(fsys fs.FS, name string) ([]byte, error) {
	gz, err := fs.ReadFile(fsys, "bin/"+name+suffix)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}
