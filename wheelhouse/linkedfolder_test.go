package wheelhouse_test

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/wheelhouse"
)

// plantVictim makes a folder outside every wheelhouse holding what a
// store's writers would touch there if they followed a link to it: a
// file with a distribution's name, a temporary file of a dead fetch, a
// page of the static index, a stranger's notes and a folder of them.
func plantVictim(t *testing.T) string {
	t.Helper()
	v := filepath.Join(t.TempDir(), "victim")
	for name, body := range map[string]string{
		"notes.txt":                   "mine",
		"project/inner.txt":           "mine too",
		"demo-1.0-py3-none-any.whl":   "not a wheel",
		".fetch-0123456789abcdef.tmp": "someone's",
		"index.html":                  "my page",
	} {
		p := filepath.Join(v, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mustWrite(t, p, []byte(body))
	}
	return v
}

// TestAWheelhouseWithALinkedFolderIsRefusedAndNothingOutsideIsTouched
// replaces files/, simple/ or a project's folder of simple/ with a link
// to a folder outside (what any member of a team's wheelhouse could
// do), then opens, locks, indexes and removes from the store, some of it
// with a Store opened before the link was put there: every step is
// refused with a *LinkedFolderError naming the folder and saying to
// remove it, and the folder the link leads to is as it was, to the byte.
func TestAWheelhouseWithALinkedFolderIsRefusedAndNothingOutsideIsTouched(t *testing.T) {
	wheel := "demo-1.0-py3-none-any.whl"
	for _, folder := range []string{"files", "simple", "simple/demo"} {
		t.Run(folder, func(t *testing.T) {
			s := storeWith(t, build(t, "demo", "1.0", ">=3.8", true, "py3-none-any")...)
			if err := wheelhouse.WriteStatic(context.Background(), s); err != nil {
				t.Fatal(err)
			}
			victim := plantVictim(t)
			before := testenv.Tree(t, victim)
			at := filepath.Join(s.Dir(), filepath.FromSlash(folder))
			if err := os.RemoveAll(at); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(victim, at); err != nil {
				t.Fatal(err)
			}
			steps := []struct {
				name string
				do   func() error
			}{
				{"Open", func() error { _, err := wheelhouse.Open(s.Dir()); return err }},
				{"Create", func() error { _, err := wheelhouse.Create(s.Dir()); return err }},
				{"BeginWrite (and its sweep of dead writers' temporary files)", func() error {
					release, err := s.BeginWrite(context.Background())
					if err == nil {
						release()
					}
					return err
				}},
				{"LockExclusive", func() error {
					release, err := s.LockExclusive()
					if err == nil {
						release()
					}
					return err
				}},
				{"WriteStatic", func() error { return wheelhouse.WriteStatic(context.Background(), s) }},
			}
			if folder == "files" {
				steps = append(steps, struct {
					name string
					do   func() error
				}{"Remove", func() error { return s.Remove(wheel) }})
			}
			for _, step := range steps {
				err := step.do()
				var lf *wheelhouse.LinkedFolderError
				if !errors.As(err, &lf) || lf.Folder != folder || lf.Target != victim ||
					!strings.Contains(err.Error(), folder+"/ is a symbolic link to "+victim) || !strings.Contains(err.Error(), "rm "+at) {
					t.Errorf("%s: %v; want a *LinkedFolderError naming %s/, the link's target and what to do", step.name, err, folder)
				}
			}
			if after := testenv.Tree(t, victim); !maps.Equal(before, after) {
				t.Errorf("the folder the link leads to changed:\nbefore %v\nafter  %v", before, after)
			}
			// Once the link is gone, the store is a store again.
			if err := os.Remove(at); err != nil {
				t.Fatal(err)
			}
			if _, err := wheelhouse.Open(s.Dir()); err != nil && folder == "files" {
				var ie *wheelhouse.InconsistentError
				if !errors.As(err, &ie) {
					t.Errorf("Open without the link: %v", err)
				}
			} else if err != nil {
				t.Errorf("Open without the link: %v", err)
			}
		})
	}
}

// TestVerifyReadsNothingThroughALinkedFilesFolder: verify reports files/
// as a link, and hashes none of what it leads to (an identical copy
// outside counts for nothing).
func TestVerifyReadsNothingThroughALinkedFilesFolder(t *testing.T) {
	s := storeWith(t, build(t, "demo", "1.0", ">=3.8", true, "py3-none-any")...)
	out := filepath.Join(t.TempDir(), "copy")
	files := filepath.Join(s.Dir(), wheelhouse.FilesDir)
	if err := os.Rename(files, out); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(out, files); err != nil {
		t.Fatal(err)
	}
	r, err := s.Verify(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if r.Files != 0 || r.Bytes != 0 || len(r.Problems) != 1 || r.Problems[0].File != "files/" || !r.Failed(false) {
		t.Errorf("verify read %d files (%d bytes) through the link; problems %+v", r.Files, r.Bytes, r.Problems)
	}
}
