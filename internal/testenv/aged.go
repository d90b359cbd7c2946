package testenv

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Plant writes a one-byte file at path, making its folders, and sets its
// times to mtime: litter of another process, as old as a test needs it
// (a killed writer's temporary file an hour old, a live one's just now).
// It returns path.
func Plant(tb testing.TB, path string, mtime time.Time) string {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		tb.Fatal(err)
	}
	return path
}
