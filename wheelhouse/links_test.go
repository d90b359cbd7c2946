package wheelhouse_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/readlimit"
	"github.com/larder-build/larder/wheelhouse"
)

// TestVerifyNeverFollowsALinkOutOfTheWheelhouse replaces files of a sound
// store with what an attacker with write access to the folder (or a
// careless operator) would plant, and expects one not-regular problem
// for each, with the link's target named: an identical copy outside the
// wheelhouse passes no check.
func TestVerifyNeverFollowsALinkOutOfTheWheelhouse(t *testing.T) {
	wheel := "demo-1.0-py3-none-any.whl"
	sdist := "demo-1.0.tar.gz"
	// outside copies the file to a folder outside the store and puts a
	// link to it in its place: same bytes, same size, same sha256.
	outside := func(t *testing.T, path string) string {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), filepath.Base(path))
		mustWrite(t, out, b)
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(out, path); err != nil {
			t.Fatal(err)
		}
		return out
	}
	tests := []struct {
		name   string
		damage func(t *testing.T, s *wheelhouse.Store) string // returns what the detail must name
		file   string
	}{
		{"a listed wheel linked to an identical copy outside", func(t *testing.T, s *wheelhouse.Store) string {
			return outside(t, s.Path(wheel))
		}, wheel},
		{"a listed sdist linked to an identical copy outside", func(t *testing.T, s *wheelhouse.Store) string {
			return outside(t, s.Path(sdist))
		}, sdist},
		{"a sidecar linked to an identical copy outside", func(t *testing.T, s *wheelhouse.Store) string {
			return outside(t, s.MetadataPath(wheel))
		}, wheel},
		{"a link the manifest does not list", func(t *testing.T, s *wheelhouse.Store) string {
			if err := os.Symlink("/etc/passwd", s.Path("evil-1.0-py3-none-any.whl")); err != nil {
				t.Fatal(err)
			}
			return "/etc/passwd"
		}, "evil-1.0-py3-none-any.whl"},
		{"a named pipe in files/", func(t *testing.T, s *wheelhouse.Store) string {
			if err := syscall.Mkfifo(s.Path("pipe-1.0.tar.gz"), 0o644); err != nil {
				t.Skipf("no named pipes here: %v", err)
			}
			return "named pipe"
		}, "pipe-1.0.tar.gz"},
		{"a listed wheel replaced by a named pipe", func(t *testing.T, s *wheelhouse.Store) string {
			if err := os.Remove(s.Path(wheel)); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Mkfifo(s.Path(wheel), 0o644); err != nil {
				t.Skipf("no named pipes here: %v", err)
			}
			return "named pipe"
		}, wheel},
		{"a page of the static index linked outside", func(t *testing.T, s *wheelhouse.Store) string {
			return outside(t, filepath.Join(s.Dir(), wheelhouse.SimpleDir, "demo", "index.html"))
		}, "simple/demo/index.html"},
		{"a project folder of the static index linked outside", func(t *testing.T, s *wheelhouse.Store) string {
			out := t.TempDir()
			dir := filepath.Join(s.Dir(), wheelhouse.SimpleDir, "demo")
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(out, dir); err != nil {
				t.Fatal(err)
			}
			return out
		}, "simple/demo"},
		{"files/ itself linked outside", func(t *testing.T, s *wheelhouse.Store) string {
			out := t.TempDir()
			if err := os.Rename(filepath.Join(s.Dir(), wheelhouse.FilesDir), filepath.Join(out, wheelhouse.FilesDir)); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(out, wheelhouse.FilesDir), filepath.Join(s.Dir(), wheelhouse.FilesDir)); err != nil {
				t.Fatal(err)
			}
			return out
		}, "files/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := storeWith(t, build(t, "demo", "1.0", ">=3.8", true, "py3-none-any")...)
			if err := wheelhouse.WriteStatic(context.Background(), s); err != nil {
				t.Fatal(err)
			}
			if r, err := s.Verify(context.Background(), 2); err != nil || len(r.Problems) != 0 {
				t.Fatalf("sound store: %+v, %v", r, err)
			}
			detail := tt.damage(t, s)
			r, err := s.Verify(context.Background(), 2)
			if err != nil {
				t.Fatal(err)
			}
			var found bool
			for _, p := range r.Problems {
				if p.Kind == wheelhouse.ProblemNotRegular && p.File == tt.file && strings.Contains(p.Detail, detail) {
					found = true
				}
			}
			if !found || !r.Failed(false) {
				t.Fatalf("problems %+v, want a %s for %s naming %q", r.Problems, wheelhouse.ProblemNotRegular, tt.file, detail)
			}
		})
	}
}

// TestOpenReportsALinkedFileAsInconsistent: opening a store whose listed
// file is a link to an identical outside copy is not a sound store.
func TestOpenReportsALinkedFileAsInconsistent(t *testing.T) {
	s := storeWith(t, build(t, "demo", "1.0", ">=3.8", false, "py3-none-any")...)
	p := s.Path("demo-1.0-py3-none-any.whl")
	b, _ := os.ReadFile(p)
	out := filepath.Join(t.TempDir(), "copy.whl")
	mustWrite(t, out, b)
	os.Remove(p)
	if err := os.Symlink(out, p); err != nil {
		t.Fatal(err)
	}
	_, err := wheelhouse.Open(s.Dir())
	var ie *wheelhouse.InconsistentError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("Open: %v, want an inconsistency naming the link", err)
	}
}

// TestHashRegularFileRefusesLinksAndPipes: the hash of a store file is
// never the hash of what a link points to, and a pipe never blocks it.
func TestHashRegularFileRefusesLinksAndPipes(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	mustWrite(t, real, []byte("bytes"))
	link := filepath.Join(dir, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	pipe := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(pipe, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{link, pipe, dir} {
		_, _, err := wheelhouse.HashRegularFile(p)
		var nr *wheelhouse.NotRegularError
		if !errors.As(err, &nr) {
			t.Errorf("HashRegularFile(%s): %v, want a *NotRegularError", filepath.Base(p), err)
		}
	}
	if _, n, err := wheelhouse.HashRegularFile(real); err != nil || n != 5 {
		t.Errorf("a regular file: %d bytes, %v", n, err)
	}
}

// TestOpenRegularSizeGivesTheSizeOfWhatItOpened: the size comes with the
// file, and a link is refused as OpenRegular refuses it.
func TestOpenRegularSizeGivesTheSizeOfWhatItOpened(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	mustWrite(t, real, []byte("bytes"))
	f, n, err := wheelhouse.OpenRegularSize(real)
	if err != nil || n != 5 {
		t.Fatalf("a regular file: %d bytes, %v", n, err)
	}
	f.Close()
	link := filepath.Join(dir, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	var nr *wheelhouse.NotRegularError
	if _, _, err := wheelhouse.OpenRegularSize(link); !errors.As(err, &nr) {
		t.Errorf("a link: %v, want a *NotRegularError", err)
	}
}

// TestOpenRefusesAManifestThatIsNotARegularFile: the manifest is read as
// every other file of a store is (and as Commit reads it back): a link,
// even to an identical copy outside, is refused, and a named pipe is
// refused at once instead of waiting for a writer.
func TestOpenRefusesAManifestThatIsNotARegularFile(t *testing.T) {
	tests := []struct {
		name  string
		plant func(t *testing.T, manifest string)
		kind  string
	}{
		{"a link to a copy outside", func(t *testing.T, manifest string) {
			b, err := os.ReadFile(manifest)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), wheelhouse.ManifestName)
			mustWrite(t, out, b)
			os.Remove(manifest)
			if err := os.Symlink(out, manifest); err != nil {
				t.Fatal(err)
			}
		}, "a symbolic link"},
		{"a named pipe", func(t *testing.T, manifest string) {
			os.Remove(manifest)
			if err := syscall.Mkfifo(manifest, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "a named pipe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := storeWith(t, build(t, "demo", "1.0", ">=3.8", false, "py3-none-any")...)
			manifest := filepath.Join(s.Dir(), wheelhouse.ManifestName)
			tt.plant(t, manifest)
			done := make(chan error, 1)
			go func() {
				_, err := wheelhouse.Open(s.Dir())
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				// Let a reader waiting on the pipe go before failing.
				if w, werr := os.OpenFile(manifest, os.O_WRONLY|syscall.O_NONBLOCK, 0); werr == nil {
					w.Close()
				}
				<-done
				t.Fatal("Open waited on the manifest")
			}
			var nr *wheelhouse.NotRegularError
			if !errors.As(err, &nr) || readlimit.Kind(nr.Mode) != tt.kind || !strings.Contains(err.Error(), manifest) {
				t.Errorf("Open: %v, want a *NotRegularError naming %s as %s", err, manifest, tt.kind)
			}
		})
	}
}

// TestOpenRemembersWhichFilesDidNotMatch: what Open found wrong with a
// file (missing, a link, another size) is what Mismatched says, file by
// file, until a Put replaces the entry; the index server reads it
// instead of looking at every file again.
func TestOpenRemembersWhichFilesDidNotMatch(t *testing.T) {
	var dists []*pypitest.File
	for _, name := range []string{"good", "gone", "linked", "grown"} {
		dists = append(dists, build(t, name, "1.0", ">=3.8", false, "py3-none-any")...)
	}
	s := storeWith(t, dists...)
	path := func(name string) string { return s.Path(name + "-1.0-py3-none-any.whl") }
	if err := os.Remove(path("gone")); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path("linked"))
	out := filepath.Join(t.TempDir(), "copy.whl")
	mustWrite(t, out, b)
	os.Remove(path("linked"))
	if err := os.Symlink(out, path("linked")); err != nil {
		t.Fatal(err)
	}
	grown, _ := os.ReadFile(path("grown"))
	mustWrite(t, path("grown"), append(grown, 0))

	opened, err := wheelhouse.Open(s.Dir())
	var ie *wheelhouse.InconsistentError
	if !errors.As(err, &ie) || len(ie.Problems) != 3 {
		t.Fatalf("Open: %v, want three problems", err)
	}
	for _, tt := range []struct {
		name string
		want bool
	}{
		{"good", false}, {"gone", true}, {"linked", true}, {"grown", true}, {"never-listed", false},
	} {
		if got := opened.Mismatched(tt.name + "-1.0-py3-none-any.whl"); got != tt.want {
			t.Errorf("Mismatched(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
	e, _ := opened.Lookup("grown-1.0-py3-none-any.whl")
	if err := opened.Put(e); err != nil {
		t.Fatal(err)
	}
	if opened.Mismatched(e.Filename) {
		t.Error("a file put again is still reported as not matching")
	}
}
