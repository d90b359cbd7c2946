package layers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/wheelhousetest"
)

func storeFiles(t *testing.T) (Content, []File) {
	t.Helper()
	s := wheelhousetest.Store(t, wheelhousetest.Dir(t), sampleFiles(t)...)
	c := Content{Store: s}
	var files []File
	for _, e := range s.Entries() {
		fs, err := c.entryFiles(e)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, fs...)
	}
	return c, files
}

func TestLayerBytesDependOnlyOnContentCompressionAndTime(t *testing.T) {
	_, files := storeFiles(t)
	// The same files, in another order, from another folder whose files
	// have other times and modes on disk.
	c2, files2 := storeFiles(t)
	for i, j := 0, len(files2)-1; i < j; i, j = i+1, j-1 {
		files2[i], files2[j] = files2[j], files2[i]
	}
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, e := range c2.Store.Entries() {
		os.Chtimes(c2.Store.Path(e.Filename), old, old)
		os.Chmod(c2.Store.Path(e.Filename), 0o600)
	}
	for _, c := range []Compression{Gzip, Zstd, Uncompressed} {
		t.Run(string(c), func(t *testing.T) {
			var digests []string
			for i, procs := range []int{1, 4} {
				prev := runtime.GOMAXPROCS(procs)
				b, err := NewBuilder(WithDir(t.TempDir()), WithCompression(c))
				if err != nil {
					t.Fatal(err)
				}
				in := files
				if i == 1 {
					in = files2
				}
				l, err := b.Build(context.Background(), in)
				runtime.GOMAXPROCS(prev)
				if err != nil {
					t.Fatal(err)
				}
				digests = append(digests, l.digest.String()+" "+l.diffID.String())
				// The digest is the blob's, the diff ID the tar's.
				blob, _ := os.ReadFile(l.Path())
				if got := "sha256:" + hexSum(blob); got != l.digest.String() {
					t.Errorf("digest %s, blob hashes to %s", l.digest, got)
				}
				rc, _ := l.Uncompressed()
				tarBytes, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					t.Fatal(err)
				}
				if got := "sha256:" + hexSum(tarBytes); got != l.diffID.String() {
					t.Errorf("diff ID %s, tar hashes to %s", l.diffID, got)
				}
				if int64(len(tarBytes)) != l.UncompressedSize() {
					t.Errorf("uncompressed size %d, tar is %d bytes", l.UncompressedSize(), len(tarBytes))
				}
			}
			if digests[0] != digests[1] {
				t.Errorf("same content gave different layers:\n%s\n%s", digests[0], digests[1])
			}
		})
	}
	// Another time is another layer.
	a, _ := NewBuilder()
	b, _ := NewBuilder(WithModTime(time.Unix(1700000000, 0)))
	la, _ := a.Build(context.Background(), files)
	lb, _ := b.Build(context.Background(), files)
	if la.diffID == lb.diffID {
		t.Error("a different SOURCE_DATE_EPOCH gave the same layer")
	}
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestLayerTarIsSortedWithParentsFixedOwnersTimesAndModes(t *testing.T) {
	_, files := storeFiles(t)
	files = append(files,
		DataFile("/etc/larder/index.json", 0o644, []byte(`{"wheelhouse":"/wheelhouse"}`)),
		File{Path: "/wheelhouse/files/gone-1.0-py3-none-any.whl", Whiteout: true},
		DataFile("/wheelhouse/files/"+strings.Repeat("a", 120)+"-1.0-py3-none-any.whl", 0o644, []byte("long name")),
	)
	mtime := time.Unix(1700000000, 0)
	b, err := NewBuilder(WithDir(t.TempDir()), WithModTime(mtime))
	if err != nil {
		t.Fatal(err)
	}
	l, err := b.Build(context.Background(), files)
	if err != nil {
		t.Fatal(err)
	}
	ents := readLayer(t, l)
	var names []string
	seen := map[string]bool{}
	for _, e := range ents {
		h := e.hdr
		names = append(names, h.Name)
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: owner %d:%d %q:%q, want 0:0 and no names", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
		}
		if !h.ModTime.Equal(mtime) {
			t.Errorf("%s: mtime %v, want %v", h.Name, h.ModTime, mtime)
		}
		if len(h.PAXRecords) > 0 && len(h.Name) <= 100 {
			t.Errorf("%s: PAX records %v on a name USTAR can hold", h.Name, h.PAXRecords)
		}
		for k := range h.PAXRecords {
			if strings.HasPrefix(k, "SCHILY.xattr.") {
				t.Errorf("%s: extended attribute %s written", h.Name, k)
			}
		}
		dir := filepath.Dir(strings.TrimSuffix(h.Name, "/"))
		if dir != "." && !seen[dir+"/"] {
			t.Errorf("%s comes before its folder %s/", h.Name, dir)
		}
		seen[h.Name] = true
		switch {
		case h.Typeflag == 'x' || h.Typeflag == 'g':
			t.Errorf("%s: raw PAX header seen", h.Name)
		case h.Typeflag == '5':
			if h.Mode != 0o755 {
				t.Errorf("folder %s: mode %o, want 755", h.Name, h.Mode)
			}
		case strings.HasPrefix(filepath.Base(h.Name), ".wh."):
			if h.Size != 0 {
				t.Errorf("whiteout %s has content", h.Name)
			}
		case h.Mode != 0o644:
			t.Errorf("%s: mode %o, want 644", h.Name, h.Mode)
		}
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("entries not sorted: %v", names)
	}
	for _, want := range []string{"etc/", "etc/larder/", "wheelhouse/", "wheelhouse/files/", "wheelhouse/files/.wh.gone-1.0-py3-none-any.whl"} {
		if !seen[want] {
			t.Errorf("no entry %s in %v", want, names)
		}
	}
	// The content is the files' content.
	for _, e := range ents {
		if e.hdr.Name == "etc/larder/index.json" && string(e.data) != `{"wheelhouse":"/wheelhouse"}` {
			t.Errorf("index.json holds %q", e.data)
		}
	}
}

func TestBuildRefusesASourceWhoseBytesDifferFromTheManifestAndLeavesNothing(t *testing.T) {
	c, files := storeFiles(t)
	victim := c.Store.Entries()[0]
	data, _ := os.ReadFile(c.Store.Path(victim.Filename))
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(c.Store.Path(victim.Filename), data, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	b, _ := NewBuilder(WithDir(dir))
	_, err := b.Build(context.Background(), files)
	var hm *HashMismatchError
	if !errors.As(err, &hm) {
		t.Fatalf("got %v, want a HashMismatchError", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, victim.Filename) || !strings.Contains(msg, victim.SHA256) || !strings.Contains(msg, hexSum(data)) {
		t.Errorf("error %q does not name the file and both digests", msg)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("the failed build left %d files behind: %v", len(left), left[0].Name())
	}
	// A truncated file is caught by its size.
	if err := os.WriteFile(c.Store.Path(victim.Filename), data[:10], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Build(context.Background(), files); err == nil || !strings.Contains(err.Error(), "10 bytes") {
		t.Errorf("truncated source: got %v", err)
	}
}

func TestBuildStopsWhenCancelledAndLeavesNothing(t *testing.T) {
	_, files := storeFiles(t)
	dir := t.TempDir()
	b, _ := NewBuilder(WithDir(dir))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Build(ctx, files); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("the cancelled build left %v", left)
	}
}

func TestAKeptLayerIsFoundAgainNotRebuilt(t *testing.T) {
	_, files := storeFiles(t)
	dir := t.TempDir()
	var built int64
	b, _ := NewBuilder(WithDir(dir), WithProgress(func(n int64) { built += n }))
	l1, err := b.Build(context.Background(), files)
	if err != nil || l1.Cached() {
		t.Fatalf("first build: %v, cached %v", err, l1.Cached())
	}
	first := built
	l2, err := b.Build(context.Background(), files)
	if err != nil {
		t.Fatal(err)
	}
	if !l2.Cached() || l2.digest != l1.digest || built != first {
		t.Errorf("second build: cached %v, digest %s (first %s), %d bytes read again", l2.Cached(), l2.digest, l1.digest, built-first)
	}
	// A damaged kept blob is not trusted: the layer is built again.
	os.Truncate(l1.Path(), 5)
	l3, err := b.Build(context.Background(), files)
	if err != nil || l3.Cached() || l3.digest != l1.digest {
		t.Errorf("after damage: %v, cached %v", err, l3.Cached())
	}
	// Prune removes what was not used lately.
	if freed, err := b.Prune(-time.Hour); err != nil || freed == 0 {
		t.Errorf("prune: %d bytes, %v", freed, err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("prune left %d files", len(left))
	}
}

func TestAKeyIsTheHashOfOneFormattedLinePerEntryInNameOrder(t *testing.T) {
	// Layers kept by an earlier larder are found by this key: its bytes
	// never change unless layerFormat does.
	files := []File{
		DataFile("/wheelhouse/simple/zope-interface/index.html", 0o644, []byte("<html>")),
		{Path: "/wheelhouse/files/gone-1.0-py3-none-any.whl", Whiteout: true},
		{Path: "/usr/local/bin/larder-index", Mode: 0o755, Source: "/x", Size: 1 << 40, SHA256: strings.Repeat("ab", 32)},
		DataFile("/wheelhouse/simple/na\"me\tü\x7f/index.json", 0o600, nil),
	}
	for _, c := range []Compression{Gzip, Zstd, Uncompressed} {
		b, err := NewBuilder(WithCompression(c), WithModTime(time.Unix(1700000000, 0)))
		if err != nil {
			t.Fatal(err)
		}
		sorted := append([]File(nil), files...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i].name() < sorted[j].name() })
		h := sha256.New()
		fmt.Fprintf(h, "%s\n%s\n%d\n", layerFormat, c, int64(1700000000))
		for _, f := range sorted {
			fmt.Fprintf(h, "%q %o %d %s %t\n", f.name(), f.Mode, f.Size, f.SHA256, f.Whiteout)
		}
		if got, want := b.key(files), hex.EncodeToString(h.Sum(nil)); got != want {
			t.Errorf("%s: key %s, want %s", c, got, want)
		}
	}
}

func TestADigestOnlyBuilderKeepsNoBytes(t *testing.T) {
	_, files := storeFiles(t)
	kept, _ := NewBuilder(WithDir(t.TempDir()))
	plan, _ := NewBuilder()
	a, err := kept.Build(context.Background(), files)
	if err != nil {
		t.Fatal(err)
	}
	b, err := plan.Build(context.Background(), files)
	if err != nil {
		t.Fatal(err)
	}
	if a.digest != b.digest || a.size != b.size {
		t.Errorf("digest-only build differs: %s %d vs %s %d", b.digest, b.size, a.digest, a.size)
	}
	if _, err := b.Compressed(); err == nil {
		t.Error("a digest-only layer opened bytes it never kept")
	}
}

func TestDataFileAndInvalidEntries(t *testing.T) {
	b, _ := NewBuilder()
	for _, f := range []File{
		{Path: "relative/x", Data: []byte("x")},
		{Path: "/a/../b", Data: []byte("x")},
		{Path: "/a/", Data: []byte("x")},
		{Path: "/a", Data: []byte("x"), Whiteout: true},
		{Path: "/a", Source: "/etc/hostname"},
		{Path: "/a", Data: []byte("x"), Mode: 0o100644},
	} {
		if _, err := b.Build(context.Background(), []File{f}); err == nil {
			t.Errorf("%+v was accepted", f)
		}
	}
	if _, err := b.Build(context.Background(), []File{DataFile("/a", 0o644, nil), DataFile("/a", 0o644, []byte("x"))}); err == nil {
		t.Error("a path twice was accepted")
	}
	if !bytes.Equal(DataFile("/a", 0o644, []byte("x")).Data, []byte("x")) {
		t.Error("DataFile lost its data")
	}
}

func TestNewBuilderRefusesFewerThanOneJob(t *testing.T) {
	for _, n := range []int{0, -1} {
		if _, err := NewBuilder(WithJobs(n)); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("jobs %d", n)) {
			t.Errorf("WithJobs(%d): error %v, want one naming the count", n, err)
		}
	}
	if _, err := NewBuilder(WithJobs(1)); err != nil {
		t.Errorf("WithJobs(1): %v", err)
	}
}
