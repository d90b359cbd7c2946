package wheelhouse

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/larder-build/larder/internal/par"
	"github.com/larder-build/larder/internal/readlimit"
)

// ManifestName is the manifest's file name inside a store.
const ManifestName = "manifest.json"

// FilesDir is the folder of distributions inside a store.
const FilesDir = "files"

// manifestVersion is the format version of manifest.json.
const manifestVersion = 1

// Origin says where a file came from.
type Origin struct {
	// Kind is "index" (downloaded), "vcs" (built from a git checkout),
	// "sdist" (built from an sdist) or "upload" (uploaded to larder serve).
	Kind string `json:"kind"`
	// URL is the download URL, or the repository URL of a VCS build.
	URL string `json:"url,omitempty"`
	// Index is the simple index the file was listed on.
	Index string `json:"index,omitempty"`
	// Commit is the commit a VCS build was made from.
	Commit string `json:"commit,omitempty"`
	// Sdist is the sdist file name (and SdistSHA256 its hash) a wheel
	// was built from.
	Sdist       string `json:"sdist,omitempty"`
	SdistSHA256 string `json:"sdist_sha256,omitempty"`
	// Uploader is the user who uploaded the file (Kind "upload").
	Uploader string `json:"uploader,omitempty"`
}

// Origin kinds.
const (
	OriginIndex  = "index"
	OriginVCS    = "vcs"
	OriginSdist  = "sdist"
	OriginUpload = "upload"
)

// Entry is one file of the store.
type Entry struct {
	Filename       string    `json:"filename"`
	Project        string    `json:"project"` // normalized (PEP 503)
	Version        string    `json:"version"`
	SHA256         string    `json:"sha256"`
	Size           int64     `json:"size"`
	MetadataSHA256 string    `json:"metadata_sha256,omitempty"` // of the .metadata sidecar (wheels)
	RequiresPython string    `json:"requires_python,omitempty"`
	UploadTime     time.Time `json:"upload_time,omitzero"`
	Origin         Origin    `json:"origin"`
	Targets        []string  `json:"targets,omitempty"`
	Private        bool      `json:"private,omitempty"`
}

// Equal reports whether two entries are the same in every field. Upload
// times compare with ==, so also by their *time.Location: stricter than
// manifest.json, which writes only the offset (two times of one instant
// and offset in zones read apart are not Equal), and never looser.
func (e Entry) Equal(o Entry) bool {
	return e.Filename == o.Filename && e.Project == o.Project && e.Version == o.Version &&
		e.SHA256 == o.SHA256 && e.Size == o.Size && e.MetadataSHA256 == o.MetadataSHA256 &&
		e.RequiresPython == o.RequiresPython && e.UploadTime == o.UploadTime && e.Origin == o.Origin &&
		slices.Equal(e.Targets, o.Targets) && e.Private == o.Private
}

// IsWheel reports whether the entry is a wheel.
func (e Entry) IsWheel() bool { return strings.HasSuffix(e.Filename, ".whl") }

// manifest is manifest.json.
type manifest struct {
	Version int     `json:"version"`
	Files   []Entry `json:"files"`
}

// Store is an open wheelhouse folder. It is safe for concurrent use.
type Store struct {
	dir string

	mu      sync.RWMutex
	entries map[string]Entry // by filename
	// What this Store changed since its last Commit: Commit applies
	// exactly these to the manifest on disk, which other processes may
	// have changed meanwhile.
	puts    map[string]pendingPut
	removed map[string]bool
	gen     uint64
	reserve string // a file whose space Commit may free on a full disk
	// mismatched is the entries whose file Open found missing, not a
	// regular file or not of the recorded size, and that no Put has
	// replaced since.
	mismatched map[string]bool
}

// pendingPut is an entry put since the last Commit; gen tells a Put made
// during a Commit from the one the Commit wrote.
type pendingPut struct {
	e   Entry
	gen uint64
}

// ValidFilename reports whether name can be a file of the store: a plain
// base name of a distribution, never a path.
func ValidFilename(name string) bool {
	if name == "" || len(name) > 255 || name == "." || name == ".." || strings.HasPrefix(name, ".") {
		return false
	}
	for _, c := range name {
		if c == '/' || c == '\\' || c == 0 || c < 0x20 || c == 0x7f {
			return false
		}
	}
	return strings.HasSuffix(name, ".whl") || strings.HasSuffix(name, ".tar.gz") || strings.HasSuffix(name, ".zip") ||
		strings.HasSuffix(name, ".tgz") || strings.HasSuffix(name, ".tar.bz2")
}

// FolderMode is the mode a store's folders are made with, under the
// umask: 0755 under umask 022, and 0775 in a team's wheelhouse (a folder
// of their group, umask 002), so that it takes every member's writes;
// never writable by everyone, whatever the umask (a wheelhouse anyone
// may rename files in is anyone's to serve). Files are replaced by
// rename, never written in place, so they need no group write.
const FolderMode = 0o775

// Create opens the store in dir, making the folder and an empty manifest
// when there is none.
func Create(dir string) (*Store, error) {
	// MkdirAll would take a link to a folder for files/.
	if err := newStore(dir, 0).CheckFolders(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, FilesDir), FolderMode); err != nil {
		return nil, fmt.Errorf("creating wheelhouse: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ManifestName)); errors.Is(err, fs.ErrNotExist) {
		s := newStore(dir, 0)
		if err := s.Commit(); err != nil {
			return nil, err
		}
		return s, nil
	}
	return Open(dir)
}

// ErrNoManifest is returned by Open for a folder without a manifest: no
// fetch has filled it yet.
var ErrNoManifest = errors.New("no " + ManifestName + ": nothing has been fetched into it")

// Open reads the store in dir and checks the manifest against the folder:
// every entry must name a valid file that exists with the recorded size.
// (Hashes are checked by Verify, which reads every byte.) A store with a
// folder that is a link is refused with a *LinkedFolderError, before
// anything in it is read.
func Open(dir string) (*Store, error) {
	if err := newStore(dir, 0).CheckFolders(); err != nil {
		return nil, err
	}
	// Read as every file of a store is: a link is not followed, a pipe
	// not waited on, and the size bounded.
	b, err := readNoFollow(filepath.Join(dir, ManifestName), maxManifest)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("opening wheelhouse %s: %w (%w)", dir, ErrNoManifest, err)
		}
		return nil, fmt.Errorf("opening wheelhouse: %w", err)
	}
	m, err := unmarshalManifest(b)
	if err != nil {
		return nil, fmt.Errorf("opening wheelhouse %s: %w", dir, &CorruptManifestError{Path: filepath.Join(dir, ManifestName), Err: err})
	}
	if m.Version != manifestVersion {
		return nil, fmt.Errorf("opening wheelhouse %s: manifest version %d is not supported (want %d)", dir, m.Version, manifestVersion)
	}
	s := newStore(dir, len(m.Files))
	// A stat per file, on every core: with thousands of files it is most
	// of what opening a store costs. Each is of a name in files/, looked
	// up from the folder opened once rather than walked down to from the
	// root of the file system.
	lstat := func(name string) (fs.FileInfo, error) { return os.Lstat(s.Path(name)) }
	if r, err := s.FilesRoot(); err == nil {
		defer r.Close()
		lstat = r.Lstat
	}
	found := make([]string, len(m.Files)) // each entry's problem, if any
	kept := make([]bool, len(m.Files))
	par.For(len(m.Files), 64, 0, func(i int) {
		found[i], kept[i] = checkEntry(m.Files[i], lstat)
	})
	var problems []string
	for i, e := range m.Files {
		if found[i] != "" {
			problems = append(problems, found[i])
			if kept[i] {
				s.mismatched[e.Filename] = true
			}
		} else {
			delete(s.mismatched, e.Filename)
		}
		if kept[i] {
			s.entries[e.Filename] = e
		}
	}
	if len(problems) > 0 {
		return s, &InconsistentError{Dir: dir, Problems: problems}
	}
	return s, nil
}

// checkEntry says what is wrong with a manifest entry against its file
// in files/, which lstat looks at ("" for nothing), and whether the
// store keeps it: one with a valid name and hash is kept even when its
// file is not right, so that fetch can repair it and verify report it.
func checkEntry(e Entry, lstat func(name string) (fs.FileInfo, error)) (problem string, keep bool) {
	switch {
	case !ValidFilename(e.Filename):
		return fmt.Sprintf("%q is not a valid file name", e.Filename), false
	case len(e.SHA256) != 64:
		return fmt.Sprintf("%s has no sha256", e.Filename), false
	}
	// Lstat: a link is not the store's file, wherever it points.
	st, err := lstat(e.Filename)
	switch {
	case err != nil:
		return fmt.Sprintf("%s is missing", e.Filename), true
	case !st.Mode().IsRegular():
		return fmt.Sprintf("%s is %s, not a regular file", e.Filename, readlimit.Kind(st.Mode())), true
	case st.Size() != e.Size:
		return fmt.Sprintf("%s is %d bytes, the manifest says %d", e.Filename, st.Size(), e.Size), true
	}
	return "", true
}

func newStore(dir string, n int) *Store {
	return &Store{dir: dir, entries: make(map[string]Entry, n), puts: map[string]pendingPut{}, removed: map[string]bool{}, mismatched: map[string]bool{}}
}

// CorruptManifestError reports a manifest.json that is not a manifest.
type CorruptManifestError struct {
	Path string
	Err  error
}

func (e *CorruptManifestError) Error() string { return fmt.Sprintf("%s is corrupt: %v", e.Path, e.Err) }
func (e *CorruptManifestError) Unwrap() error { return e.Err }

// InconsistentError reports a manifest that does not match the folder.
// Open still returns the store, so that fetch can repair it and verify
// can report it.
type InconsistentError struct {
	Dir      string
	Problems []string
}

func (e *InconsistentError) Error() string {
	msg := fmt.Sprintf("wheelhouse %s does not match its manifest: %s", e.Dir, strings.Join(e.Problems[:min(len(e.Problems), 5)], "; "))
	if len(e.Problems) > 5 {
		msg += fmt.Sprintf(" (and %d more)", len(e.Problems)-5)
	}
	return msg
}

// Dir returns the store's folder.
func (s *Store) Dir() string { return s.dir }

// Path returns where a file of the store lives.
func (s *Store) Path(filename string) string { return filepath.Join(s.dir, FilesDir, filename) }

// MetadataPath returns where a wheel's PEP 658 sidecar lives.
func (s *Store) MetadataPath(filename string) string { return s.Path(filename) + ".metadata" }

// Lookup returns the entry of a file.
func (s *Store) Lookup(filename string) (Entry, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.entries[filename]
	return e, ok
}

// Entries returns every entry, sorted by file name.
func (s *Store) Entries() []Entry {
	s.mu.RLock()
	out := make([]Entry, 0, len(s.entries))
	for _, e := range s.entries {
		out = append(out, e)
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Filename < out[j].Filename })
	return out
}

// Mismatched reports whether Open found the file of an entry missing, not
// a regular file, or not of the size the manifest records, and no Put
// has replaced it since: what Open checked with a stat per file, for a
// reader that would otherwise check it again (the index server's start).
// Files written later by other processes are not looked at.
func (s *Store) Mismatched(filename string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.mismatched[filename]
}

// Projects returns the entries grouped by normalized project name.
func (s *Store) Projects() map[string][]Entry {
	out := map[string][]Entry{}
	for _, e := range s.Entries() {
		out[e.Project] = append(out[e.Project], e)
	}
	return out
}

// Put records an entry whose file (and sidecar, for a wheel) is already in
// place under its real name. Commit writes the manifest.
func (s *Store) Put(e Entry) error {
	if !ValidFilename(e.Filename) {
		return fmt.Errorf("adding %q to the wheelhouse: not a valid file name", e.Filename)
	}
	s.mu.Lock()
	s.entries[e.Filename] = e
	s.gen++
	s.puts[e.Filename] = pendingPut{e: e, gen: s.gen}
	delete(s.removed, e.Filename)
	delete(s.mismatched, e.Filename)
	s.mu.Unlock()
	return nil
}

// Remove deletes a file, its sidecar and its entry. Commit writes the
// manifest. The files are removed through an *os.Root of files/ (see
// FilesRoot): never through a link, whether files/ is one or the file
// is, in which case the link itself goes.
func (s *Store) Remove(filename string) error {
	if !ValidFilename(filename) {
		return fmt.Errorf("removing %q: not a valid file name", filename)
	}
	s.mu.Lock()
	delete(s.entries, filename)
	delete(s.puts, filename)
	delete(s.mismatched, filename)
	s.removed[filename] = true
	s.mu.Unlock()
	r, err := s.FilesRoot()
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("removing %s: %w", filename, err)
	}
	defer r.Close()
	for _, name := range []string{filename, filename + ".metadata"} {
		if err := r.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing %s: %w", filename, err)
		}
	}
	return nil
}

// Commit writes the manifest atomically. Other processes may write the
// same store at once (two fetches of two locks, a server's cache): under
// a lock shared with them, Commit re-reads the manifest on disk and
// applies this Store's Puts and Removes to it, so that entries others
// added are kept and only explicit removals remove. The Store then holds
// the merged entries.
func (s *Store) Commit() error {
	return s.withManifestLock("writing manifest", s.commitLocked)
}

// withManifestLock runs fn with the manifest lock held; doing names the
// work in an error taking the lock.
func (s *Store) withManifestLock(doing string, fn func() error) error {
	release, err := s.lockManifest()
	if err != nil {
		return fmt.Errorf("%s: %w", doing, err)
	}
	defer release()
	return fn()
}

// commitLocked is Commit with the manifest lock held.
func (s *Store) commitLocked() error {
	onDisk, err := s.readManifest()
	if err != nil {
		return fmt.Errorf("writing manifest: %w", err)
	}
	s.mu.RLock()
	puts := make(map[string]pendingPut, len(s.puts))
	for k, v := range s.puts {
		puts[k] = v
	}
	removed := make([]string, 0, len(s.removed))
	for k := range s.removed {
		removed = append(removed, k)
	}
	if onDisk == nil { // no manifest yet, or an unreadable one: ours is all there is
		onDisk = make(map[string]Entry, len(s.entries))
		for k, v := range s.entries {
			onDisk[k] = v
		}
	}
	s.mu.RUnlock()
	for _, name := range removed {
		delete(onDisk, name)
	}
	for name, p := range puts {
		onDisk[name] = mergeEntry(onDisk[name], p.e)
	}
	merged := make([]Entry, 0, len(onDisk))
	for _, e := range onDisk {
		merged = append(merged, e)
	}
	b, err := MarshalManifest(merged)
	if err != nil {
		return fmt.Errorf("writing manifest: %w", err)
	}
	name := filepath.Join(s.dir, ManifestName)
	err = WriteFileAtomic(name, b, 0o644)
	if errors.Is(err, syscall.ENOSPC) && s.freeReserve() {
		// The files this manifest lists are on disk and verified: losing
		// their entries to a full disk would lose them.
		err = WriteFileAtomic(name, b, 0o644)
	}
	if err != nil {
		return fmt.Errorf("writing manifest: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, p := range puts {
		if cur, ok := s.puts[name]; ok && cur.gen == p.gen {
			delete(s.puts, name)
		}
	}
	for _, name := range removed {
		delete(s.removed, name)
	}
	// Puts and Removes made during the write stay pending and stay
	// visible.
	s.adoptLocked(onDisk)
	return nil
}

// Refresh re-reads the manifest on disk, which other processes may have
// changed since Open, keeping this Store's changes not yet committed.
func (s *Store) Refresh() error {
	return s.withManifestLock("reading manifest", func() error {
		onDisk, err := s.readManifest()
		if err != nil || onDisk == nil {
			return err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.adoptLocked(onDisk)
		return nil
	})
}

// adoptLocked makes entries read from the manifest on disk the Store's,
// with its Puts and Removes not yet committed applied over them; s.mu is
// held.
func (s *Store) adoptLocked(onDisk map[string]Entry) {
	for name, p := range s.puts {
		onDisk[name] = p.e
	}
	for name := range s.removed {
		delete(onDisk, name)
	}
	s.entries = onDisk
}

// readManifest returns the entries of the manifest on disk, or nil when
// there is none or it cannot be read as one (Commit then writes this
// Store's entries over it, as before stores were shared).
func (s *Store) readManifest() (map[string]Entry, error) {
	b, err := readNoFollow(filepath.Join(s.dir, ManifestName), maxManifest)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m, err := unmarshalManifest(b)
	if err != nil || m.Version != manifestVersion {
		return nil, nil
	}
	out := make(map[string]Entry, len(m.Files))
	for _, e := range m.Files {
		if ValidFilename(e.Filename) {
			out[e.Filename] = e
		}
	}
	return out, nil
}

// maxManifest bounds the manifest read by Open and read back by Commit:
// some hundred thousand entries.
const maxManifest = 256 << 20

// mergeEntry is ours, with the targets of theirs kept when both describe
// the same bytes: two locks fetched into one store each need the file for
// their own targets. No targets means every target.
func mergeEntry(theirs, ours Entry) Entry {
	if theirs.Filename == "" || theirs.SHA256 != ours.SHA256 || ours.Targets == nil {
		return ours
	}
	if theirs.Targets == nil {
		ours.Targets = nil
		return ours
	}
	set := map[string]bool{}
	for _, t := range append(append([]string{}, theirs.Targets...), ours.Targets...) {
		set[t] = true
	}
	ours.Targets = make([]string, 0, len(set))
	for t := range set {
		ours.Targets = append(ours.Targets, t)
	}
	sort.Strings(ours.Targets)
	return ours
}

// reservePrefix starts the name of a reserve file.
const reservePrefix = ".reserve-"

// Reserve sets aside n bytes of disk in a file of the store until release
// is called: when the disk fills up (a download took the rest), Commit
// frees them to write the manifest, so that the files already verified
// stay listed. A Store holds one reserve at a time.
func (s *Store) Reserve(n int64) (release func(), err error) {
	f, err := CreateTemp(s.dir, reservePrefix+"*", 0o644)
	if err != nil {
		return nil, fmt.Errorf("reserving space in %s: %w", s.dir, err)
	}
	// Written, not fallocated: the standard library has no fallocate,
	// and zeros take real blocks on every file system.
	_, err = f.Write(make([]byte, n))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return nil, fmt.Errorf("reserving space in %s: %w", s.dir, err)
	}
	s.mu.Lock()
	old := s.reserve
	s.reserve = f.Name()
	s.mu.Unlock()
	if old != "" {
		os.Remove(old)
	}
	return func() { s.freeReserve() }, nil
}

// freeReserve removes the reserve file and reports whether there was one.
func (s *Store) freeReserve() bool {
	s.mu.Lock()
	name := s.reserve
	s.reserve = ""
	s.mu.Unlock()
	return name != "" && os.Remove(name) == nil
}

// MarshalManifest returns the manifest.json of a store holding exactly
// entries, as Commit writes it: a function of the entries alone, so that
// an image baked from a subset of a store gets a manifest of its own.
func MarshalManifest(entries []Entry) ([]byte, error) {
	files := slices.Clone(entries)
	slices.SortFunc(files, func(a, b Entry) int { return strings.Compare(a.Filename, b.Filename) })
	b, err := appendManifest(make([]byte, 0, 512*len(files)+64), files)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// WriteFileAtomic writes data through a temporary file in the same folder,
// synced and renamed, so that a reader sees the old content or the new,
// never a torn file.
func WriteFileAtomic(name string, data []byte, perm os.FileMode) error {
	return WriteAtomic(name, perm, true, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// CopyFileAtomic copies src to dst (mode 0644) the way WriteAtomic writes:
// through a temporary file in dst's folder, renamed into place, synced
// first when sync is set.
func CopyFileAtomic(src, dst string, sync bool) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return WriteAtomic(dst, 0o644, sync, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}

// WriteAtomic streams a file's content into a temporary file in the same
// folder and renames it into place; with sync the content is on disk
// before the rename. The file is created with perm under the umask, as
// any file a program creates. On any error the temporary file is removed
// and the old file, if any, is left as it was.
func WriteAtomic(name string, perm os.FileMode, sync bool, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(name)
	tmp, err := CreateTemp(dir, atomicTempPattern(filepath.Base(name)), perm)
	if err != nil {
		// Say so in terms of name, not of a temporary file the caller
		// never heard of.
		if _, serr := os.Stat(dir); errors.Is(err, fs.ErrNotExist) && errors.Is(serr, fs.ErrNotExist) {
			return fmt.Errorf("no folder %s: %w", dir, fs.ErrNotExist)
		}
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return &fs.PathError{Op: "create", Path: name, Err: pe.Err}
		}
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = write(tmp); err != nil {
		return err
	}
	if sync {
		if err = tmp.Sync(); err != nil {
			return err
		}
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

// tempRandom is how many random bytes CreateTemp puts into a name, in hex.
const tempRandom = 8

// maxName is the most bytes a file name may have (NAME_MAX).
const maxName = 255

// atomicTempPattern is the CreateTemp pattern WriteAtomic stages a file
// named base under: "."+base+"."+16 hex digits+".tmp", which says whose
// it is, when that fits the 255 bytes of a file name, else
// ".atomic-"+16 hex digits+".tmp" (a wheel's name, or its sidecar's, may
// take up to 255 bytes). Both start with a dot and end with ".tmp".
func atomicTempPattern(base string) string {
	if len(".")+len(base)+len(".")+2*tempRandom+len(".tmp") <= maxName {
		return "." + base + ".*.tmp"
	}
	return ".atomic-*.tmp"
}

// MaxSidecarName is the longest file name whose PEP 658 sidecar a store
// can have: the sidecar's name, the file's and ".metadata", must fit the
// 255 bytes of a file name. (Every write stages under a name that fits.)
const MaxSidecarName = maxName - len(".metadata")

// SidecarFits reports whether a wheel named name can have a PEP 658
// sidecar in a store: whether its name is at most MaxSidecarName bytes.
// A longer one (file names go up to 255 bytes) is stored without one, its
// entry has no MetadataSHA256, and the index does not offer its metadata:
// pip reads it from the wheel.
func SidecarFits(name string) bool { return len(name) <= MaxSidecarName }

// CreateTemp creates a new file in dir for writing, as os.CreateTemp
// does (the last "*" of pattern becomes a random string), but with perm
// under the umask instead of 0600: a file renamed into a store must be
// readable by whoever serves it.
func CreateTemp(dir, pattern string, perm os.FileMode) (*os.File, error) {
	prefix, suffix := pattern, ""
	if i := strings.LastIndex(pattern, "*"); i >= 0 {
		prefix, suffix = pattern[:i], pattern[i+1:]
	}
	var err error
	for range 100 {
		var b [tempRandom]byte
		_, _ = rand.Read(b[:])
		name := filepath.Join(dir, prefix+hex.EncodeToString(b[:])+suffix)
		var f *os.File
		f, err = os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
	}
	return nil, err
}
