package fetch

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/wheelhouse"
)

// victimFolder makes a folder outside the wheelhouse with what a fetch
// or a gc following a link to it would write over or remove: a
// stranger's notes and a folder of them, a file named as the lock's
// wheel, a temporary file of the name a fetch's sweep removes.
func victimFolder(t *testing.T) string {
	t.Helper()
	v := filepath.Join(t.TempDir(), "victim")
	for name, body := range map[string]string{
		"notes.txt":                   "mine",
		"project/inner.txt":           "mine too",
		libWheel:                      "not a wheel",
		".fetch-0123456789abcdef.tmp": "someone's",
	} {
		p := filepath.Join(v, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, p, body)
	}
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(filepath.Join(v, ".fetch-0123456789abcdef.tmp"), old, old); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestALinkedFilesOrSimpleFolderMakesFetchAndGCRefuseAndTouchNothingOutside
// is the audit's attack: in a fetched wheelhouse, files/ (or simple/)
// is replaced by a link to someone's folder, and a fetch and a gc --force
// run with the Store opened before. Both are refused with a
// *wheelhouse.LinkedFolderError naming the folder, and the folder the
// link leads to keeps every file, to the byte: gc deleted all of it,
// fetch wrote the wheel and its temporary files there and swept it.
func TestALinkedFilesOrSimpleFolderMakesFetchAndGCRefuseAndTouchNothingOutside(t *testing.T) {
	_, lock := lockIndex(t, smallIndex(), []string{"app"}, []string{amd64})
	for _, folder := range []string{wheelhouse.FilesDir, wheelhouse.SimpleDir} {
		for _, verb := range []string{"fetch", "gc"} {
			t.Run(folder+"/"+verb, func(t *testing.T) {
				s := newStore(t)
				if verb == "gc" {
					if _, err := Fetch(context.Background(), s, lock, fastOptions()...); err != nil {
						t.Fatal(err)
					}
				}
				victim := victimFolder(t)
				before := testenv.Tree(t, victim)
				at := filepath.Join(s.Dir(), folder)
				if err := os.RemoveAll(at); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(victim, at); err != nil {
					t.Fatal(err)
				}
				var err error
				if verb == "fetch" {
					_, err = Fetch(context.Background(), s, lock, fastOptions()...)
				} else {
					_, err = GC(context.Background(), s, withoutPackage(lock, "app"), false)
				}
				var lf *wheelhouse.LinkedFolderError
				if !errors.As(err, &lf) || lf.Folder != folder || !strings.Contains(err.Error(), "rm "+at) {
					t.Errorf("%s: %v; want a *wheelhouse.LinkedFolderError naming %s/ and what to do", verb, err, folder)
				}
				if after := testenv.Tree(t, victim); !maps.Equal(before, after) {
					t.Errorf("%s changed the folder the link leads to:\nbefore %v\nafter  %v", verb, before, after)
				}
			})
		}
	}
}

// TestGCRemovesOnlyRegularFilesAndSaysWhatItLeft: a folder with
// something in it and a link in files/ that no lock needs are listed as
// left, not removed, and what the link leads to is untouched; an empty
// folder and a stray file go.
func TestGCRemovesOnlyRegularFilesAndSaysWhatItLeft(t *testing.T) {
	_, lock := lockIndex(t, smallIndex(), []string{"app"}, []string{amd64})
	s := newStore(t)
	if _, err := Fetch(context.Background(), s, lock, fastOptions()...); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "precious.txt")
	writeFile(t, outside, "mine")
	writeFile(t, s.Path("stray-1.0.tar.gz"), "x")
	if err := os.MkdirAll(s.Path("project"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(s.Path("project"), "notes.txt"), "kept")
	if err := os.Mkdir(s.Path("empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, s.Path("evil-1.0.tar.gz")); err != nil {
		t.Fatal(err)
	}
	r, err := GC(context.Background(), s, lock, false)
	if err != nil {
		t.Fatal(err)
	}
	var removed, left []string
	for _, g := range r.Files {
		removed = append(removed, g.File)
	}
	for _, g := range r.Left {
		left = append(left, g.File+": "+g.Reason)
	}
	if strings.Join(removed, ",") != "empty,stray-1.0.tar.gz" || len(left) != 2 ||
		!strings.HasPrefix(left[0], "evil-1.0.tar.gz: ") || !strings.Contains(left[0], "symbolic link") ||
		!strings.HasPrefix(left[1], "project: ") || !strings.Contains(left[1], "remove it yourself") {
		t.Errorf("gc removed %v and left %v", removed, left)
	}
	for _, p := range []string{filepath.Join(s.Path("project"), "notes.txt"), outside} {
		if b, err := os.ReadFile(p); err != nil || string(b) == "" {
			t.Errorf("%s: %q, %v; want it kept", p, b, err)
		}
	}
	if _, err := os.Lstat(s.Path("evil-1.0.tar.gz")); err != nil {
		t.Errorf("the link was removed: %v", err)
	}
	for _, name := range []string{"empty", "stray-1.0.tar.gz"} {
		if _, err := os.Lstat(s.Path(name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s survived gc: %v", name, err)
		}
	}
}
