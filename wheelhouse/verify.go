package wheelhouse

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/larder-build/larder/internal/readlimit"
)

// ProblemKind classifies what is wrong with a file of a store.
type ProblemKind string

// The kinds of problems Verify reports, from the most to the least severe.
const (
	// ProblemMissing is a file that should be in the store and is not.
	ProblemMissing ProblemKind = "missing"
	// ProblemCorrupt is a file whose bytes differ from what was recorded.
	ProblemCorrupt ProblemKind = "corrupt"
	// ProblemNotRegular is something in files/ or simple/ that is not a
	// regular file (or, for the folders, not a folder): a symbolic link,
	// which the store never follows since it may point out of the
	// wheelhouse, a named pipe, a device, a folder where a file belongs.
	ProblemNotRegular ProblemKind = "not-regular"
	// ProblemMetadata is a wheel whose PEP 658 sidecar is absent or wrong.
	ProblemMetadata ProblemKind = "metadata"
	// ProblemUnexpected is something in files/ the manifest does not list:
	// a stray file, a leftover of an interrupted write, a folder.
	ProblemUnexpected ProblemKind = "unexpected"
	// ProblemStale is a verified file that the lock no longer needs: a
	// warning, since it harms nothing but size.
	ProblemStale ProblemKind = "stale"
)

var problemOrder = map[ProblemKind]int{ProblemMissing: 0, ProblemCorrupt: 1, ProblemNotRegular: 2, ProblemMetadata: 3, ProblemUnexpected: 4, ProblemStale: 5}

// Problem is one finding of a verification.
type Problem struct {
	Kind   ProblemKind `json:"kind"`
	File   string      `json:"file"`
	Detail string      `json:"detail"`
}

// VerifyReport is the outcome of a verification.
type VerifyReport struct {
	// Files and Bytes count the files of the manifest that were re-hashed.
	Files    int       `json:"files"`
	Bytes    int64     `json:"bytes"`
	Problems []Problem `json:"problems"`
}

// Add records a problem.
func (r *VerifyReport) Add(kind ProblemKind, file, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Kind: kind, File: file, Detail: fmt.Sprintf(format, args...)})
}

// Count returns how many problems of a kind were found.
func (r *VerifyReport) Count(kind ProblemKind) int {
	n := 0
	for _, p := range r.Problems {
		if p.Kind == kind {
			n++
		}
	}
	return n
}

// Failed reports whether the store is unfit for use: any problem but a
// stale file, or any problem at all when strict.
func (r *VerifyReport) Failed(strict bool) bool {
	for _, p := range r.Problems {
		if p.Kind != ProblemStale || strict {
			return true
		}
	}
	return false
}

// Sort orders the problems by severity, then file name.
func (r *VerifyReport) Sort() {
	sort.SliceStable(r.Problems, func(i, j int) bool {
		a, b := r.Problems[i], r.Problems[j]
		if a.Kind != b.Kind {
			return problemOrder[a.Kind] < problemOrder[b.Kind]
		}
		return a.File < b.File
	})
}

// IsTemporary reports whether a name in files/ is a leftover of a write
// that never finished: every temporary file and folder the store and its
// writers make starts with a dot.
func IsTemporary(name string) bool { return strings.HasPrefix(name, ".") }

// HashFile returns the hex sha256 and the size of a file.
func HashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	return hashReader(f)
}

// hashReader returns the hex sha256 and the size of what r holds.
func hashReader(r io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// Verify re-reads every file of the manifest with jobs readers at once
// (0 means one per CPU) and reports files that are absent, whose size or
// sha256 differ from the manifest, wheels whose .metadata sidecar is
// absent or does not hold the METADATA inside the wheel, and anything in
// files/ that the manifest does not list. It returns an error when the
// folder cannot be read at all, or ctx's error when ctx ends first: no
// file is started after that, and a report of part of the store would
// read as a clean one.
func (s *Store) Verify(ctx context.Context, jobs int) (*VerifyReport, error) {
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("verifying wheelhouse: %w", err)
	}
	r := &VerifyReport{Problems: []Problem{}}
	entries := s.Entries()
	listed := make(map[string]bool, len(entries))
	for _, e := range entries {
		listed[e.Filename] = true
	}
	linked := map[string]bool{}
	for _, sub := range []string{FilesDir, SimpleDir} {
		if st, err := os.Lstat(filepath.Join(s.dir, sub)); err == nil && !st.IsDir() {
			linked[sub] = true
			r.Add(ProblemNotRegular, sub+"/", "is %s, not a folder%s; nothing in it was read", readlimit.Kind(st.Mode()), linkTarget(filepath.Join(s.dir, sub), st.Mode()))
		}
	}
	if linked[FilesDir] {
		// Nothing is read through the link: the files it leads to are
		// not the store's, whatever their hashes.
		entries = nil
	}
	var dirents []fs.DirEntry
	var err error
	if !linked[FilesDir] {
		dirents, err = os.ReadDir(filepath.Join(s.dir, FilesDir))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("verifying wheelhouse: %w", err)
		}
	}
	for _, d := range dirents {
		name := d.Name()
		sidecarOf := strings.TrimSuffix(name, ".metadata")
		switch {
		case listed[name] || (strings.HasSuffix(name, ".metadata") && listed[sidecarOf]):
			// Checked with its entry, whatever it is.
			continue
		case !d.Type().IsRegular():
			r.Add(ProblemNotRegular, name, "is %s in %s/%s", readlimit.Kind(d.Type()), FilesDir, linkTarget(filepath.Join(s.dir, FilesDir, name), d.Type()))
			continue
		}
		switch {
		case IsTemporary(name):
			r.Add(ProblemUnexpected, name, "a leftover of an interrupted write")
		case strings.HasSuffix(name, ".metadata"):
			r.Add(ProblemUnexpected, name, "a metadata sidecar of no file in the manifest")
		case !listed[name]:
			r.Add(ProblemUnexpected, name, "not in the manifest")
		}
	}

	if !linked[SimpleDir] {
		r.Problems = append(r.Problems, verifySimple(ctx, filepath.Join(s.dir, SimpleDir))...)
	}

	// forEachLimit ends with ctx's error whenever ctx has ended, so a walk
	// of simple/ that ctx cut short is not reported as whole.
	var mu sync.Mutex
	err = forEachLimit(ctx, jobs, entries, func(e Entry) error {
		probs, size := s.verifyEntry(e)
		mu.Lock()
		defer mu.Unlock()
		r.Problems = append(r.Problems, probs...)
		r.Files++
		r.Bytes += size
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("verifying wheelhouse: %w", err)
	}
	r.Sort()
	return r, nil
}

// verifyEntry checks one file and its sidecar against the manifest.
func (s *Store) verifyEntry(e Entry) ([]Problem, int64) {
	var out []Problem
	add := func(kind ProblemKind, format string, args ...any) {
		out = append(out, Problem{Kind: kind, File: e.Filename, Detail: fmt.Sprintf(format, args...)})
	}
	sum, size, err := HashRegularFile(s.Path(e.Filename))
	var notRegular *NotRegularError
	switch {
	case errors.As(err, &notRegular):
		add(ProblemNotRegular, "is %s, not a regular file%s", readlimit.Kind(notRegular.Mode), linkTarget(s.Path(e.Filename), notRegular.Mode))
		return out, 0
	case errors.Is(err, fs.ErrNotExist):
		add(ProblemMissing, "listed in the manifest but absent from %s/", FilesDir)
		return out, 0
	case err != nil:
		add(ProblemCorrupt, "cannot be read: %v", err)
		return out, 0
	case size != e.Size:
		add(ProblemCorrupt, "is %d bytes, the manifest says %d", size, e.Size)
		return out, size
	case sum != e.SHA256:
		add(ProblemCorrupt, "has sha256 %s, the manifest says %s", sum, e.SHA256)
		return out, size
	}
	if !e.IsWheel() || (!SidecarFits(e.Filename) && e.MetadataSHA256 == "") {
		// A wheel whose name is too long for a sidecar has none.
		return out, size
	}
	side, err := ReadRegular(s.MetadataPath(e.Filename))
	if err != nil {
		switch {
		case errors.As(err, &notRegular):
			add(ProblemNotRegular, "its sidecar is %s, not a regular file%s", readlimit.Kind(notRegular.Mode), linkTarget(s.MetadataPath(e.Filename), notRegular.Mode))
		case errors.Is(err, fs.ErrNotExist):
			add(ProblemMetadata, "has no .metadata sidecar")
		default:
			add(ProblemMetadata, "its sidecar cannot be read: %v", err)
		}
		return out, size
	}
	sideSum := sha256.Sum256(side)
	if got := hex.EncodeToString(sideSum[:]); got != e.MetadataSHA256 {
		add(ProblemMetadata, "sidecar has sha256 %s, the manifest says %q", got, e.MetadataSHA256)
		return out, size
	}
	raw, err := wheelMetadata(s.Path(e.Filename))
	if err != nil {
		add(ProblemCorrupt, "its METADATA cannot be read: %v", err)
		return out, size
	}
	if !bytes.Equal(raw, side) {
		add(ProblemMetadata, "sidecar differs from the METADATA inside the wheel")
	}
	return out, size
}

// verifySimple reports what in the static index is not a regular file
// (or, one level down, a project folder). WalkDir never follows a link.
func verifySimple(ctx context.Context, root string) []Problem {
	var out []Problem
	seen := 0
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if ctx.Err() != nil {
			return filepath.SkipAll // Verify reports the context's error
		}
		if err != nil || path == root {
			return nil
		}
		// Bounded: a static index has two pages per project.
		if seen++; seen > 1_000_000 {
			return filepath.SkipAll
		}
		rel, _ := filepath.Rel(filepath.Dir(root), path)
		rel = filepath.ToSlash(rel)
		depth := strings.Count(rel, "/")
		switch {
		case d.IsDir() && depth == 1:
			return nil
		case d.IsDir():
			out = append(out, Problem{Kind: ProblemNotRegular, File: rel, Detail: "is a folder where the static index has only pages"})
			return filepath.SkipDir
		case !d.Type().IsRegular():
			out = append(out, Problem{Kind: ProblemNotRegular, File: rel, Detail: fmt.Sprintf("is %s, not a regular file%s", readlimit.Kind(d.Type()), linkTarget(path, d.Type()))})
		}
		return nil
	})
	return out
}

// linkTarget says where a symbolic link points, for a message.
func linkTarget(path string, m fs.FileMode) string {
	if m&fs.ModeSymlink == 0 {
		return ""
	}
	if t, err := os.Readlink(path); err == nil {
		return fmt.Sprintf(" (to %s): the store never follows links", t)
	}
	return ": the store never follows links"
}

// maxMetadata bounds the METADATA read out of a wheel, as a defence
// against a zip bomb in a corrupted store.
const maxMetadata = 32 << 20

// wheelMetadata returns the raw METADATA of the one .dist-info folder at
// the top of a wheel. (resolver/dist parses it; the store stays on the
// standard library so that the index server in images stays small.)
func wheelMetadata(path string) ([]byte, error) {
	f, size, err := OpenRegularSize(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	z, err := readlimit.OpenZip(f, size, readlimit.MaxZipMembers)
	if err != nil {
		return nil, err
	}
	var found *zip.File
	for _, f := range z.File {
		dir, base, ok := strings.Cut(f.Name, "/")
		if !ok || base != "METADATA" || !strings.HasSuffix(dir, ".dist-info") {
			continue
		}
		if found != nil {
			return nil, fmt.Errorf("more than one .dist-info folder (%s, %s)", found.Name, f.Name)
		}
		found = f
	}
	if found == nil {
		return nil, errors.New("no .dist-info/METADATA")
	}
	rc, err := found.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := readlimit.ReadAll(rc, maxMetadata)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", found.Name, err)
	}
	return b, nil
}
