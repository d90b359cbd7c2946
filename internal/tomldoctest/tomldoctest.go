// Package tomldoctest checks the located errors of the readers built on
// resolver/tomldoc (pylock.toml, uv.lock, pyproject.toml): each of their
// tests writes a broken document to a real file, loads it, and wants an
// error that names the file, the line and the key.
package tomldoctest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/larder-build/larder/resolver/tomldoc"
)

// Edit returns base with the first old replaced by new, failing the test
// when base has no old: a case that edits nothing would test the base.
func Edit(t testing.TB, base, old, new string) string {
	t.Helper()
	doc := strings.Replace(base, old, new, 1)
	if doc == base {
		t.Fatalf("replacement %q not found", old)
	}
	return doc
}

// Write writes doc to a file named name in a fresh temporary directory and
// returns its path.
func Write(t testing.TB, name, doc string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// WantError checks that err, from loading the file at path, is a
// *tomldoc.Error naming that file, and that its text less the file's
// directory starts with want (such as "uv.lock:22: package[1].wheels[0]: ").
func WantError(t testing.TB, err error, path, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Load succeeded, want %s", want)
	}
	got := strings.TrimPrefix(err.Error(), filepath.Dir(path)+string(filepath.Separator))
	if !strings.HasPrefix(got, want) {
		t.Errorf("error:\n got %s\nwant %s...", got, want)
	}
	var located *tomldoc.Error
	if !errors.As(err, &located) || located.File != path {
		t.Errorf("error %v is not an *Error for %s", err, path)
	}
}
