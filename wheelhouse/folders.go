package wheelhouse

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/larder-build/larder/internal/readlimit"
)

// LinkedFolderError is a folder of a store (files/, simple/, a project's
// folder in simple/) that is a symbolic link, or something else that is
// not a folder. A team's wheelhouse is writable by every member of the
// group, so any of them can put a link there: larder never reads, writes
// or removes anything through it, and refuses the store until it is
// removed. (The store's own folder is the user's choice, and may be a
// link.)
type LinkedFolderError struct {
	// Dir is the store's folder.
	Dir string
	// Folder is the folder's path inside the store, with slashes:
	// "files", "simple", "simple/<project>".
	Folder string
	// Mode is what it is instead (fs.ModeSymlink for a link).
	Mode fs.FileMode
	// Target is where a link points, when it is one and can be read.
	Target string
	// Changed is set when the folder was replaced while it was being
	// opened: it was a folder, then something else.
	Changed bool
}

// Error names the folder, what it is and what to do.
func (e *LinkedFolderError) Error() string {
	p := filepath.Join(e.Dir, filepath.FromSlash(e.Folder))
	if e.Changed {
		return fmt.Sprintf("wheelhouse %s: %s/ was replaced while larder opened it (a link put in its place?): larder never follows a link out of a wheelhouse; check %s and run the command again", e.Dir, e.Folder, p)
	}
	what := readlimit.Kind(e.Mode)
	if e.Target != "" {
		what += " to " + e.Target
	}
	return fmt.Sprintf("wheelhouse %s: %s/ is %s, not a folder: larder never follows a link out of a wheelhouse, and reads, writes and removes nothing through it; remove it (rm %s) and run 'larder fetch' to fill the wheelhouse again", e.Dir, e.Folder, what, p)
}

// linkedFolder returns the *LinkedFolderError of the store's folder rel
// (slashes) whose Lstat is st.
func (s *Store) linkedFolder(rel string, st fs.FileInfo) *LinkedFolderError {
	e := &LinkedFolderError{Dir: s.dir, Folder: rel, Mode: st.Mode()}
	if st.Mode()&fs.ModeSymlink != 0 {
		if t, err := os.Readlink(filepath.Join(s.dir, filepath.FromSlash(rel))); err == nil {
			e.Target = t
		}
	}
	return e
}

// CheckFolders checks that none of the store's folders (files/, simple/
// and every project's folder in simple/) is a link or anything but a
// folder, and returns a *LinkedFolderError naming the first that is. A
// folder that does not exist yet is no error. Open, Create, BeginWrite,
// LockExclusive and WriteStatic check; the folders that remove files
// (gc, a Remove, the sweep of dead writers' temporary files) work
// through an *os.Root of the folder, which nothing can lead out of.
func (s *Store) CheckFolders() error {
	for _, rel := range []string{FilesDir, SimpleDir} {
		st, err := os.Lstat(filepath.Join(s.dir, rel))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return fmt.Errorf("wheelhouse %s: %w", s.dir, err)
		case !st.IsDir():
			return s.linkedFolder(rel, st)
		}
	}
	r, err := s.openFolder(SimpleDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer r.Close()
	ents, err := readRootDir(r)
	if err != nil {
		return fmt.Errorf("wheelhouse %s: reading %s/: %w", s.dir, SimpleDir, err)
	}
	for _, d := range ents {
		// A temporary name is a leftover the first writer removes (the
		// link itself, never what it points to); the pages are files.
		if d.Type()&fs.ModeSymlink == 0 || IsTemporary(d.Name()) || d.Name() == "index.html" || d.Name() == "index.json" {
			continue
		}
		if st, err := r.Lstat(d.Name()); err == nil {
			return s.linkedFolder(path.Join(SimpleDir, d.Name()), st)
		}
	}
	return nil
}

// FilesRoot opens the store's files/ folder as an *os.Root, through
// which nothing is read, written or removed outside it. files/ must be a
// folder, not a link to one: anything else is a *LinkedFolderError. A
// missing files/ is an error that wraps fs.ErrNotExist. The caller
// closes the root.
func (s *Store) FilesRoot() (*os.Root, error) { return s.openFolder(FilesDir) }

// openFolder opens the store's folder rel (slashes; "files", "simple" or
// "simple/<project>") as an *os.Root, refusing a link, or anything but a
// folder, with a *LinkedFolderError: the folder opened is the one an
// Lstat found a folder, or the open is refused.
func (s *Store) openFolder(rel string) (*os.Root, error) {
	top, err := os.OpenRoot(s.dir) // the user's choice: may be a link
	if err != nil {
		return nil, err
	}
	defer top.Close()
	name := filepath.FromSlash(rel)
	st, err := top.Lstat(name)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, s.linkedFolder(rel, st)
	}
	r, err := top.OpenRoot(name)
	if err != nil {
		return nil, err
	}
	// Between the Lstat and the open, the folder may have been replaced
	// by a link (to a folder of the store: an *os.Root goes nowhere
	// else); the one opened must be the one found.
	got, err := r.Stat(".")
	if err != nil || !os.SameFile(st, got) {
		r.Close()
		if err != nil {
			return nil, err
		}
		return nil, &LinkedFolderError{Dir: s.dir, Folder: rel, Changed: true}
	}
	return r, nil
}

// readRootDir lists the folder of an *os.Root; entries' types are what
// the folder says (a link is a link).
func readRootDir(r *os.Root) ([]fs.DirEntry, error) {
	d, err := r.Open(".")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return readDirTypes(d)
}
