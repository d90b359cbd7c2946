package wheelhouse

import (
	"errors"
	"fmt"
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

// TestWriteAtomicWritesANameOfUpTo255Bytes: a file name may take all the
// 255 bytes a name can have (a wheel's, its sidecar's); WriteAtomic
// stages it under a name that fits, a temporary one (a dot-name) that
// the store's clean-up recognises, and leaves none behind.
func TestWriteAtomicWritesANameOfUpTo255Bytes(t *testing.T) {
	for _, n := range []int{10, 233, 234, 246, 250, 255} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			dir := t.TempDir()
			name := strings.Repeat("w", n-len(".whl")) + ".whl"
			if err := WriteFileAtomic(filepath.Join(dir, name), []byte("content"), 0o644); err != nil {
				t.Fatal(err)
			}
			src := filepath.Join(t.TempDir(), "src")
			if err := os.WriteFile(src, []byte("copied"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := CopyFileAtomic(src, filepath.Join(dir, name), true); err != nil {
				t.Fatal(err)
			}
			if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != "copied" {
				t.Errorf("the file holds %q, %v", b, err)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Errorf("the folder holds %d entries, want the file alone", len(ents))
			}
		})
	}
}

// TestASidecarFitsTheNameOfEveryWheelOfUpTo246Bytes: a wheel's PEP 658
// sidecar is its name and ".metadata"; a store writes one for every wheel
// whose sidecar's name fits the 255 bytes of a file name, and for no
// other.
func TestASidecarFitsTheNameOfEveryWheelOfUpTo246Bytes(t *testing.T) {
	if MaxSidecarName != 255-len(".metadata") {
		t.Errorf("MaxSidecarName is %d, want %d", MaxSidecarName, 255-len(".metadata"))
	}
	s, err := Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{MaxSidecarName, MaxSidecarName + 1} {
		name := strings.Repeat("w", n-len(".whl")) + ".whl"
		err := WriteFileAtomic(s.MetadataPath(name), []byte("Metadata-Version: 2.1\n"), 0o644)
		if SidecarFits(name) != (err == nil) {
			t.Errorf("%d bytes: SidecarFits says %t, writing its sidecar: %v", n, SidecarFits(name), err)
		}
	}
}
