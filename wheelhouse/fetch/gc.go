package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/larder-build/larder/internal/readlimit"
	"github.com/larder-build/larder/resolver/pylock"
	"github.com/larder-build/larder/wheelhouse"
)

// Garbage is one thing GC removes (or would remove).
type Garbage struct {
	File string `json:"file"`
	// Size counts the file and its sidecar, in bytes.
	Size   int64  `json:"size"`
	Reason string `json:"reason"`
}

// GCReport lists what no lock needs.
type GCReport struct {
	Files   []Garbage `json:"files"`
	Bytes   int64     `json:"bytes"`
	Removed bool      `json:"removed"`
	// Left lists what GC found in files/ and does not remove, with why:
	// it removes regular files and empty folders only, never a folder
	// with something in it, a link, a pipe or a device.
	Left []Garbage `json:"left"`
}

// GC finds what the store holds that the lock does not need: manifest
// entries of files the lock no longer lists, files the manifest does not
// list (unless the lock needs them: fetch adopts those), sidecars of no
// wheel, and leftovers of interrupted writes. Unless dryRun, it removes
// them, commits the manifest and rewrites the static index. It fails
// with a *wheelhouse.BusyError while another process (a fetch, a server's
// cache) writes to the store: the files it has not listed yet would look
// like garbage. When ctx ends, GC removes nothing more and returns ctx's
// error with the report of what it found; the manifest and the static
// index then still describe every file that remains.
//
// files/ is read and cleaned through an *os.Root (wheelhouse.FilesRoot):
// a files/ that is a link is refused with a *wheelhouse.LinkedFolderError
// and nothing is removed. In files/, GC removes regular files and empty
// folders; anything else it finds that the lock does not need (a folder
// with something in it, a link, a pipe) is listed in the report's Left,
// for the user to look at.
func GC(ctx context.Context, store *wheelhouse.Store, lock *pylock.Lock, dryRun bool) (*GCReport, error) {
	if lock == nil {
		return nil, errors.New("collecting garbage: no lock to keep files for")
	}
	p, err := makePlan(lock)
	if err != nil {
		return nil, fmt.Errorf("collecting garbage: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("collecting garbage: %w", err)
	}
	release, err := store.LockExclusive()
	if err != nil {
		return nil, fmt.Errorf("collecting garbage: %w", err)
	}
	defer release()
	// What others committed since the store was opened is not garbage
	// by accident of timing.
	if err := store.Refresh(); err != nil {
		return nil, fmt.Errorf("collecting garbage: %w", err)
	}
	files, err := store.FilesRoot()
	if errors.Is(err, fs.ErrNotExist) {
		files = nil // an empty store: only stale entries
	} else if err != nil {
		return nil, fmt.Errorf("collecting garbage: %w", err)
	} else {
		defer files.Close()
	}
	size := func(name string) int64 {
		if files == nil {
			return 0
		}
		st, err := files.Lstat(name)
		if err != nil {
			return 0
		}
		return st.Size()
	}
	rep := &GCReport{Files: []Garbage{}, Left: []Garbage{}}
	stale := map[string]bool{}
	for _, e := range store.Entries() {
		if p.needed(e) {
			continue
		}
		stale[e.Filename] = true
		reason := "the lock does not need it"
		if w, ok := p.byName[e.Filename]; ok && w.sha256 != e.SHA256 {
			reason = "the lock needs another file of that name"
		}
		rep.Files = append(rep.Files, Garbage{File: e.Filename, Size: size(e.Filename) + size(e.Filename+".metadata"), Reason: reason})
	}
	var dirents []fs.DirEntry
	if files != nil {
		if dirents, err = readRoot(files); err != nil {
			return nil, fmt.Errorf("collecting garbage: reading %s/: %w", wheelhouse.FilesDir, err)
		}
	}
	var loose []string // not entries: removed by name
	keep := func(name string) bool {
		if _, listed := store.Lookup(name); listed {
			return true
		}
		_, needed := p.byName[name]
		return needed
	}
	for _, d := range dirents {
		name := d.Name()
		reason := ""
		switch {
		case wheelhouse.IsTemporary(name):
			reason = "left over by an interrupted write"
		case d.IsDir():
			reason = "a folder in files/"
		case strings.HasSuffix(name, ".metadata"):
			base := strings.TrimSuffix(name, ".metadata")
			if keep(base) || stale[base] {
				continue
			}
			reason = "the sidecar of no wheel"
		case keep(name):
			continue
		default:
			reason = "not in the manifest"
		}
		switch {
		case d.IsDir() && !emptyFolder(files, name):
			rep.Left = append(rep.Left, Garbage{File: name, Reason: reason + ", with something in it: gc removes no folder's content; look at it, and remove it yourself if nothing needs it"})
			continue
		case !d.IsDir() && !d.Type().IsRegular():
			rep.Left = append(rep.Left, Garbage{File: name, Reason: fmt.Sprintf("%s, and %s: gc removes regular files only; remove it yourself", reason, readlimit.Kind(d.Type()))})
			continue
		}
		loose = append(loose, name)
		rep.Files = append(rep.Files, Garbage{File: name, Size: size(name), Reason: reason})
	}
	sort.Slice(rep.Left, func(i, j int) bool { return rep.Left[i].File < rep.Left[j].File })
	sort.Slice(rep.Files, func(i, j int) bool { return rep.Files[i].File < rep.Files[j].File })
	for _, g := range rep.Files {
		rep.Bytes += g.Size
	}
	if dryRun || len(rep.Files) == 0 {
		return rep, nil
	}
	// A context that ends stops the removal between two files; what is
	// gone by then is still committed and the static index rewritten, so
	// that neither lists a file that is not there.
	var stopped error
	for _, name := range sortedKeys(stale) {
		if stopped = ctx.Err(); stopped != nil {
			break
		}
		if err := store.Remove(name); err != nil {
			return rep, fmt.Errorf("collecting garbage: %w", err)
		}
	}
	for _, name := range loose {
		if stopped = ctx.Err(); stopped != nil {
			break
		}
		// A regular file, or an empty folder: Remove takes nothing else
		// (a folder filled since it was listed is an error, not emptied).
		if err := files.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return rep, fmt.Errorf("collecting garbage: removing %s: %w", name, err)
		}
	}
	rep.Removed = stopped == nil
	if err := store.Commit(); err != nil {
		return rep, fmt.Errorf("collecting garbage: %w", err)
	}
	if err := wheelhouse.WriteStatic(context.WithoutCancel(ctx), store); err != nil {
		return rep, fmt.Errorf("collecting garbage: %w", err)
	}
	if stopped != nil {
		return rep, fmt.Errorf("collecting garbage: %w", stopped)
	}
	return rep, nil
}

// readRoot lists the folder of an *os.Root, entries typed as the folder
// says (a link is a link).
func readRoot(r *os.Root) ([]fs.DirEntry, error) {
	d, err := r.Open(".")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.ReadDir(-1)
}

// emptyFolder reports whether the folder name of r holds nothing.
func emptyFolder(r *os.Root, name string) bool {
	d, err := r.Open(name)
	if err != nil {
		return false
	}
	defer d.Close()
	names, err := d.Readdirnames(1)
	return len(names) == 0 && errors.Is(err, io.EOF)
}

// sortedKeys returns a set's names in order: the removal order does not
// depend on map iteration, so an interrupted gc is reproducible.
func sortedKeys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
