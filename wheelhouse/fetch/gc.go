package fetch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

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
	files := filepath.Join(store.Dir(), wheelhouse.FilesDir)
	size := func(name string) int64 {
		st, err := os.Lstat(filepath.Join(files, name))
		if err != nil {
			return 0
		}
		return st.Size()
	}
	rep := &GCReport{Files: []Garbage{}}
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
	dirents, err := os.ReadDir(files)
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("collecting garbage: %w", err)
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
		loose = append(loose, name)
		rep.Files = append(rep.Files, Garbage{File: name, Size: size(name), Reason: reason})
	}
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
		if err := os.RemoveAll(filepath.Join(files, name)); err != nil {
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
