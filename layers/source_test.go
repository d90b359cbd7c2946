package layers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestIndexFilesRemembersTheBinarysHashUntilTheBinaryChanges(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the hash is remembered only where the change time is known")
	}
	bin := filepath.Join(t.TempDir(), "larder-index")
	old := bytes.Repeat([]byte("a"), 1<<20)
	if err := os.WriteFile(bin, old, 0o755); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(bin)
	b, _ := NewBuilder(WithDir(t.TempDir()))
	sum := func(data []byte) string { h := sha256.Sum256(data); return hex.EncodeToString(h[:]) }
	// A file changed within the last second is not remembered: another
	// change within the same tick of the kernel's clock would not show.
	young := func() {
		if recs, _ := filepath.Glob(filepath.Join(b.dir, "*"+sourceExt)); len(recs) != 0 {
			t.Errorf("a binary changed %v ago was remembered", time.Since(st.ModTime()))
		}
		time.Sleep(racyWindow + 100*time.Millisecond)
	}
	for _, c := range []struct {
		name   string
		change func()
		want   []byte
	}{
		{"first read", func() {}, old},
		{"read again", young, old},
		{"remembered", func() {}, old},
		// Other bytes of the same size, put back to the same modification
		// time: only the change time (and the hash) tells.
		{"rewritten in place", func() {
			if recs, _ := filepath.Glob(filepath.Join(b.dir, "*"+sourceExt)); len(recs) != 1 {
				t.Errorf("%d records of the binary's hash, want 1", len(recs))
			}
			os.WriteFile(bin, bytes.Repeat([]byte("b"), 1<<20), 0o755)
			os.Chtimes(bin, st.ModTime(), st.ModTime())
		}, bytes.Repeat([]byte("b"), 1<<20)},
		{"replaced", func() {
			tmp := bin + ".new"
			os.WriteFile(tmp, []byte("c"), 0o755)
			os.Rename(tmp, bin)
		}, []byte("c")},
	} {
		c.change()
		files, err := b.IndexFiles(bin, []byte(`{}`))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if files[0].SHA256 != sum(c.want) || files[0].Size != int64(len(c.want)) {
			t.Errorf("%s: sha256 %s size %d, want %s %d", c.name, files[0].SHA256, files[0].Size, sum(c.want), len(c.want))
		}
		// The layer built from it holds the binary as it is now.
		l, err := b.Build(context.Background(), files)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, e := range readLayer(t, l) {
			if e.hdr.Name == strings.TrimPrefix(IndexBinaryPath, "/") && !bytes.Equal(e.data, c.want) {
				t.Errorf("%s: the layer holds %d other bytes", c.name, len(e.data))
			}
		}
	}
}

func TestABackgroundSyncedLayerIsRememberedOnlyOnceOnDisk(t *testing.T) {
	_, files := storeFiles(t)
	dir := t.TempDir()
	b, _ := NewBuilder(WithDir(dir), WithBackgroundSync())
	l, err := b.Build(context.Background(), files)
	if err != nil {
		t.Fatal(err)
	}
	// The blob is readable at once, synced or not.
	if _, err := os.Stat(l.Path()); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	recs, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(recs) != 1 {
		t.Fatalf("%d records after Sync, want 1", len(recs))
	}
	// Asked again at once, the same Builder finds it (waiting for a sync
	// still under way), and so does another.
	for _, c := range []*Builder{b, func() *Builder { n, _ := NewBuilder(WithDir(dir)); return n }()} {
		again, err := c.Build(context.Background(), files)
		if err != nil || !again.Cached() || again.digest != l.digest {
			t.Errorf("built again: %v, cached %v", err, again != nil && again.Cached())
		}
	}
	if freed, err := b.Prune(-time.Hour); err != nil || freed == 0 {
		t.Errorf("prune: %d bytes, %v", freed, err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("prune left %d files", len(left))
	}
}
