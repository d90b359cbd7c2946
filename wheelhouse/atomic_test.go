package wheelhouse

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteAtomicIntoAMissingFolderNamesTheFolderNotATempFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "no", "such")
	err := WriteFileAtomic(filepath.Join(dir, "f.txt"), []byte("x"), 0o644)
	if err == nil || !strings.Contains(err.Error(), "no folder "+dir) || strings.Contains(err.Error(), ".tmp") || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v", err)
	}
}

func TestCopyFileAtomicCopiesAndLeavesNoTemporaryFile(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	if err := os.WriteFile(src, []byte("content"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, sync := range []bool{false, true} {
		if err := CopyFileAtomic(src, dst, sync); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(dst)
		st, _ := os.Stat(dst)
		if string(b) != "content" || st.Mode().Perm() != 0o644 {
			t.Errorf("sync %v: dst holds %q, mode %v", sync, b, st.Mode())
		}
	}
	if err := CopyFileAtomic(filepath.Join(dir, "absent"), dst, false); err == nil {
		t.Error("copying a missing file succeeded")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("folder holds %d entries, want src and dst", len(ents))
	}
}
