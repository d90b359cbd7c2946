// Package ocilayout is how larder processes share an OCI image layout on
// disk. The images a bake writes (package images) and the shared cache
// kept in a layout (package images/registrycache, oci:DIR) both follow
// it, so that two larder processes at once, in any mix, each keep their
// tags and blobs, and no reader sees a half-written index.json.
//
// Two lock files sit at the top of a layout. They are dot-files beside
// oci-layout and index.json, which readers of a layout (skopeo, umoci,
// BuildKit, go-containerregistry) do not look at, and no clean-up removes
// (it looks in blobs/ and at larder's own temporary files only). Two,
// because flock(2) cannot hold a shared and an exclusive lock on one file
// at once:
//
//   - UseLock is held shared by every process that reads or writes the
//     layout, for as long as it does (a bake's previous image, even its
//     base, may be read from the layout until its write ends; a push's
//     blobs are untagged until its manifest is tagged), and exclusively by
//     the removal of blobs no tag references: such a blob may be one
//     another live larder process has written and not yet tagged, or is
//     still reading. So the last process out cleans up. A process holds
//     each lock file once, however many paths it reaches the layout by
//     (Use): a second open file would be a second holder, in its own way.
//   - IndexLock is held exclusively for the read-modify-write of
//     index.json, so that two writers of different tags both keep theirs.
//     index.json itself is only ever replaced whole, by a rename.
//
// The kernel releases both when their holder dies, however it dies: a
// killed larder never blocks the next one.
package ocilayout

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/larder-build/larder/internal/flock"
	"github.com/larder-build/larder/wheelhouse"
)

// The files of a layout, and larder's lock files in it.
const (
	LayoutFile    = "oci-layout"
	LayoutContent = `{"imageLayoutVersion":"1.0.0"}`
	IndexFile     = "index.json"
	UseLock       = ".larder.lock"
	IndexLock     = ".larder-index.lock"
)

// Use is a process's shared hold on a layout's UseLock. A nil *Use holds
// nothing.
type Use struct {
	dir string
	h   *hold
}

// hold is this process's shared lock on one lock file, which every Use of
// that file in the process shares: a flock(2) lock belongs to an open
// file, so a second open of the same lock file (the layout reached by
// another path: a symbolic link, a bind mount, a relative name) would be
// a second holder, and the process's own clean-up would be refused for
// it and never run. Lock files are told apart by os.SameFile (device and
// inode), not by name.
type hold struct {
	f    *os.File
	info os.FileInfo
	uses int
	// clean lists the clean-ups asked for by Uses that ended while
	// others of the process remained: the last Use out runs them.
	clean []func() error
}

// holds are this process's holds, one per lock file.
var holds struct {
	sync.Mutex
	list []*hold
}

// joinHold makes f, opened on a lock file and not locked, a Use of the
// process's hold on that file when there is one (f is closed then), and
// reports whether it did.
func joinHold(dir string, f *os.File, info os.FileInfo) (*Use, bool) {
	holds.Lock()
	defer holds.Unlock()
	return joinHoldLocked(dir, f, info)
}

// joinHoldLocked is joinHold with holds already locked.
func joinHoldLocked(dir string, f *os.File, info os.FileInfo) (*Use, bool) {
	for _, h := range holds.list {
		if os.SameFile(h.info, info) {
			h.uses++
			f.Close()
			return &Use{dir: dir, h: h}, true
		}
	}
	return nil, false
}

// newHold makes f, shared-locked, the process's hold on its lock file,
// or, when another goroutine made one meanwhile, a Use of that one: the
// search and the addition are one step, or two goroutines could both
// miss and add two holds on one file, and the first out would be
// refused its clean-up by the second.
func newHold(dir string, f *os.File, info os.FileInfo) *Use {
	holds.Lock()
	defer holds.Unlock()
	if u, ok := joinHoldLocked(dir, f, info); ok {
		return u
	}
	h := &hold{f: f, info: info, uses: 1}
	holds.list = append(holds.list, h)
	return &Use{dir: dir, h: h}
}

// Take takes a shared hold on the layout in dir, waiting (and telling
// wait, when set, the folder, then "") while another larder process
// cleans it up, until ctx ends. A layout written (write true) gets its
// lock file when it has none. A layout only read never does: one without
// a lock file (no larder process has written it) or that is not a layout
// at all is read without a hold, nil and no error. Either way a lock file
// this user may not write (another user's, or on a read-only mount) is
// locked through a read-only open: flock(2) needs none other.
func Take(ctx context.Context, dir string, write bool, wait func(string)) (*Use, error) {
	if !write {
		if st, err := os.Stat(filepath.Join(dir, LayoutFile)); err != nil || !st.Mode().IsRegular() {
			return nil, nil
		}
	}
	f, err := flock.Open(filepath.Join(dir, UseLock), write)
	if err != nil {
		if !write && errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("locking the OCI layout %s: %w", dir, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking the OCI layout %s: %w", dir, err)
	}
	if u, ok := joinHold(dir, f, info); ok {
		return u, nil
	}
	if err := lockWaiting(ctx, f, false, dir, wait); err != nil {
		f.Close()
		return nil, err
	}
	return newHold(dir, f, info), nil
}

// lockWaiting takes the lock on f: at once when it is free, else telling
// wait, when set, which folder it waits for, until ctx ends.
func lockWaiting(ctx context.Context, f *os.File, exclusive bool, dir string, wait func(string)) error {
	ok, err := flock.TryLock(f, exclusive)
	if err == nil && !ok {
		if wait != nil {
			wait(dir)
			defer wait("")
		}
		err = flock.Wait(ctx, f, exclusive)
	}
	if err != nil {
		return fmt.Errorf("OCI layout %s: %w", dir, err)
	}
	return nil
}

// Dir is the folder held.
func (u *Use) Dir() string { return u.dir }

// LockIndex holds the layout's index lock until release is called: one
// process at a time reads, merges and writes index.json.
func (u *Use) LockIndex(ctx context.Context, wait func(string)) (release func(), err error) {
	f, err := flock.Open(filepath.Join(u.dir, IndexLock), true)
	if err != nil {
		return nil, fmt.Errorf("locking the index of the OCI layout %s: %w", u.dir, err)
	}
	if err := lockWaiting(ctx, f, true, u.dir, wait); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// UpdateIndex reads index.json (none is an empty index), lets change
// edit it, and replaces it atomically, all under the index lock: a tag
// another process writes meanwhile is kept. Nothing is written when
// change fails.
func (u *Use) UpdateIndex(ctx context.Context, wait func(string), change func(*v1.IndexManifest) error) error {
	release, err := u.LockIndex(ctx, wait)
	if err != nil {
		return err
	}
	defer release()
	idx, err := ReadIndex(u.dir)
	if err != nil {
		return err
	}
	if testHookIndexRead != nil {
		testHookIndexRead(u.dir)
	}
	if err := change(idx); err != nil {
		return err
	}
	return WriteIndex(u.dir, *idx)
}

// testHookIndexRead, set by tests only, runs in UpdateIndex between the
// read of index.json and its write: where another writer's merge would
// be lost without the index lock.
var testHookIndexRead func(dir string)

// CleanUp ends the hold. When no other larder process uses the layout,
// it first runs clean (which removes what no tag references, reading
// index.json again: others may have written it since); otherwise the
// last of those processes will. When other Uses of this process hold the
// same layout (by another path, say), clean is left to the last of them
// to run as it ends, by CleanUp or Close.
func (u *Use) CleanUp(clean func() error) error { return u.end(clean) }

// Close releases the hold, if any, running the clean-ups other Uses of
// the layout left to it when it is the last out (their errors are
// dropped: CleanUp reports them).
func (u *Use) Close() { _ = u.end(nil) }

// end ends the Use, adding clean to its hold's clean-ups when set; the
// last Use of a hold out lets go of the lock, first running the
// clean-ups when no other process holds the layout.
func (u *Use) end(clean func() error) error {
	if u == nil || u.h == nil {
		return nil
	}
	h := u.h
	u.h = nil
	holds.Lock()
	h.uses--
	if clean != nil {
		h.clean = append(h.clean, clean)
	}
	last := h.uses == 0
	if last {
		holds.list = slices.DeleteFunc(holds.list, func(x *hold) bool { return x == h })
	}
	holds.Unlock()
	if !last {
		return nil
	}
	defer h.f.Close()
	if len(h.clean) == 0 {
		return nil
	}
	ok, err := lastOut(h.f)
	if errors.Is(err, syscall.EBADF) {
		// A lock file opened read-only (another user's) on NFS, where
		// Linux takes flock as a POSIX lock, which needs a write open
		// to be exclusive: that user leaves the clean-up to the owner.
		return nil
	}
	if err != nil {
		return fmt.Errorf("cleaning up the OCI layout %s: %w", u.dir, err)
	}
	if !ok {
		return nil
	}
	var errs []error
	for _, c := range h.clean {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// lastOut lets go of the shared lock on f and then tries, without
// waiting, to take it alone: true when no other process holds it.
//
// The shared lock is let go first, explicitly, because flock(2) does not
// say what a refused conversion leaves: Linux drops the shared lock
// before it tries the exclusive one, granted or not, but the BSDs and
// macOS keep it when LOCK_EX|LOCK_NB is refused. There, two holders
// converting at once would each be refused for the other's shared lock
// and both leave without cleaning up. Unlocked first, on every system,
// two holders A and B finishing at once cannot both be refused: if A's
// attempt is refused for B's shared lock, B had not yet let go of it, so
// B's attempt comes after A let go of everything (a refused attempt
// takes nothing), and is refused only for a third holder, who then
// comes out after them and tries in turn.
func lastOut(f *os.File) (bool, error) {
	if err := flock.Unlock(f); err != nil {
		return false, err
	}
	return flock.TryLock(f, true)
}

// IsLock says whether name is one of the lock files of a layout.
func IsLock(name string) bool { return name == UseLock || name == IndexLock }

// IsWriteLeftover says whether name is a temporary file larder writes in
// a layout, left there only by a writer that died: index.json's,
// oci-layout's or a lock file's (".index.json.<16 hex>.tmp",
// ".larder.lock.<16 hex>.tmp"), a bake's
// blob (".<64 hex>.<12 hex>.tmp") or a cache's (".<64 hex>.tmp-<16 hex>").
// Another program's dot-file is none, whatever it ends with.
func IsWriteLeftover(name string) bool {
	rest, ok := strings.CutPrefix(name, ".")
	if !ok {
		return false
	}
	for _, f := range []string{IndexFile, LayoutFile, UseLock} {
		if r, ok := strings.CutPrefix(rest, strings.TrimPrefix(f, ".")+"."); ok {
			r, ok = strings.CutSuffix(r, ".tmp")
			return ok && isLowerHex(r, 16)
		}
	}
	if len(rest) < 65 || !isLowerHex(rest[:64], 64) {
		return false
	}
	switch r := rest[64:]; {
	case len(r) == len(".")+12+len(".tmp") && r[0] == '.' && strings.HasSuffix(r, ".tmp"):
		return isLowerHex(r[1:13], 12)
	case strings.HasPrefix(r, ".tmp-"):
		return isLowerHex(r[len(".tmp-"):], 16)
	}
	return false
}

// RemoveLeftovers removes the temporary files that writers who died left
// at the top of the layout. Only the holder of the use lock alone may
// call it.
func RemoveLeftovers(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.Type().IsRegular() && IsWriteLeftover(e.Name()) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// Check accepts an OCI layout, or a folder holding nothing but what a
// writer that died before writing oci-layout leaves (its lock files and
// temporary files).
func Check(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, LayoutFile)); err == nil {
		return nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !IsLock(e.Name()) && !IsWriteLeftover(e.Name()) {
			return fmt.Errorf("%s exists and is not an OCI layout (no %s file): give another folder", dir, LayoutFile)
		}
	}
	return nil
}

// WriteLayoutFile writes oci-layout into dir when it is missing
// (atomically: every writer writes the same bytes).
func WriteLayoutFile(dir string) error {
	p := filepath.Join(dir, LayoutFile)
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	return wheelhouse.WriteFileAtomic(p, []byte(LayoutContent), 0o644)
}

// ReadIndex reads the index.json of the layout in dir (ReadIndexFile: a
// regular file of at most MaxIndexBytes); a layout without one has an
// empty index.
func ReadIndex(dir string) (*v1.IndexManifest, error) {
	im, _, err := ReadIndexFile(dir)
	if missing(err) {
		return &v1.IndexManifest{}, nil
	}
	return im, err
}

// WriteIndex replaces the index.json of the layout in dir, atomically.
func WriteIndex(dir string, idx v1.IndexManifest) error {
	data, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	return wheelhouse.WriteFileAtomic(filepath.Join(dir, IndexFile), data, 0o644)
}

// A new layout is written in a staging folder beside it, named after it,
// ".tmp-" and stagingRandom random hex digits, and renamed into place.
const (
	stagingInfix  = ".tmp-"
	stagingRandom = 12
)

// StaleAfter is how long a staging folder without a lock file (made by a
// larder from before these locks, or by one killed between making the
// folder and its lock) must have gone unchanged before RemoveStale takes
// its writer for dead.
const StaleAfter = time.Hour

// Stage makes the staging folder a new layout for dir is written in
// before it is renamed to dir, and returns a hold on it: its own UseLock,
// held shared from the moment the folder has one, so that RemoveStale
// leaves the folder alone while this process lives. The lock file moves
// with the folder; Close the hold once the folder is renamed or removed.
func Stage(dir string) (*Use, error) {
	dir = filepath.Clean(dir) // "out/" stages beside out, not in it
	// Folders are made 0775 under the umask: a team's layout (their
	// group's folder, umask 002) takes every member's writes, and none
	// is writable by everyone, whatever the umask.
	if err := os.MkdirAll(filepath.Dir(dir), 0o775); err != nil {
		return nil, err
	}
	for {
		var b [stagingRandom / 2]byte
		_, _ = rand.Read(b[:])
		target := dir + stagingInfix + hex.EncodeToString(b[:])
		err := os.Mkdir(target, 0o775)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		u, err := holdStaged(target)
		if err != nil {
			os.RemoveAll(target)
			return nil, err
		}
		return u, nil
	}
}

// holdStaged gives a staging folder just made its UseLock, locked before
// it has that name: it is made and locked under a temporary name, then
// renamed (the lock goes with the file). So RemoveStale never finds the
// lock file of a live writer free; until then it finds none, and goes by
// the folder's age.
func holdStaged(target string) (*Use, error) {
	f, err := wheelhouse.CreateTemp(target, UseLock+".*.tmp", flock.LockFileMode)
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", target, err)
	}
	ok, err := flock.TryLock(f, false)
	if err == nil && !ok {
		err = errors.New("a lock file no other process knows of is locked")
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(target, UseLock))
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("locking %s: %w", target, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		os.Remove(filepath.Join(target, UseLock))
		return nil, fmt.Errorf("locking %s: %w", target, err)
	}
	return newHold(target, f, info), nil
}

// RemoveStale removes the staging folders beside dir of a layout by that
// name (dir.tmp- and 12 hex digits: no other name, no link) whose writer
// is dead, and returns those it removed. A writer is provably dead when
// this process gets the folder's UseLock alone: every live writer holds
// it shared from the moment the folder has it (Stage), and the kernel
// releases it when its holder dies, however it dies. A folder without a lock file (or
// where flock(2) is missing) is taken for dead only when nothing in it
// changed for StaleAfter. It is best-effort: what it cannot read or
// remove stays, for the next write.
func RemoveStale(dir string) []string {
	dir = filepath.Clean(dir)
	parent, base := filepath.Dir(dir), filepath.Base(dir)
	ents, err := os.ReadDir(parent)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), base+stagingInfix)
		if !ok || !e.IsDir() || !isLowerHex(rest, stagingRandom) {
			continue
		}
		p := filepath.Join(parent, e.Name())
		if removeIfDead(p) {
			removed = append(removed, p)
		}
	}
	return removed
}

// removeIfDead removes the staging folder p if its writer is dead.
func removeIfDead(p string) bool {
	lock := filepath.Join(p, UseLock)
	st, err := os.Lstat(lock)
	if err == nil && st.Mode().IsRegular() && flock.Works {
		// Opened, not created: a folder whose lock file is gone is not
		// given another.
		f, err := flock.Open(lock, false)
		if err != nil {
			return false
		}
		defer f.Close() // after the removal, not before
		if ok, err := flock.TryLock(f, true); err != nil || !ok {
			return false
		}
		return os.RemoveAll(p) == nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if time.Since(lastChange(p)) < StaleAfter {
		return false
	}
	return os.RemoveAll(p) == nil
}

// lastChange is when anything in a staging folder last changed: the
// folder, blobs/, blobs/sha256/ and the files in it (a blob being
// written changes its temporary file). Zero time when none can be read.
func lastChange(p string) time.Time {
	var last time.Time
	see := func(path string) []fs.DirEntry {
		if st, err := os.Lstat(path); err == nil && st.ModTime().After(last) {
			last = st.ModTime()
		}
		ents, _ := os.ReadDir(path)
		return ents
	}
	see(p)
	see(filepath.Join(p, "blobs"))
	blobs := filepath.Join(p, "blobs", "sha256")
	for _, e := range see(blobs) {
		if info, err := e.Info(); err == nil && info.ModTime().After(last) {
			last = info.ModTime()
		}
	}
	return last
}

func isLowerHex(s string, n int) bool {
	return len(s) == n && strings.Trim(s, "0123456789abcdef") == ""
}
