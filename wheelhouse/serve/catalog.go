package serve

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/larder-build/larder/resolver/distname"
	"github.com/larder-build/larder/resolver/simple"
	"github.com/larder-build/larder/wheelhouse"
)

// fileKind says where a local file came from, for people reading "/".
type fileKind int

const (
	kindBaked    fileKind = iota // downloaded from an index when the store was fetched
	kindFork                     // built from a VCS checkout
	kindSdist                    // built from an sdist
	kindFetched                  // fetched through from the upstream by this server
	kindUploaded                 // uploaded to this server (or an earlier one) through the upload API
	numFileKinds
)

func (k fileKind) String() string {
	switch k {
	case kindFork:
		return "built from a fork"
	case kindSdist:
		return "built from an sdist"
	case kindFetched:
		return "fetched through"
	case kindUploaded:
		return "uploaded"
	}
	return "baked"
}

// localFile is a file on disk the server may open: a store entry checked
// against its folder. Its paths come from the store, never from a request.
type localFile struct {
	entry    wheelhouse.Entry
	project  string // normalized
	path     string
	metaPath string // "" when no verified sidecar is advertised
	metaSHA  string
	kind     fileKind
	// unchecked is a store's sidecar at metaPath, with the manifest's hash
	// in metaSHA, that nothing has checked yet; nil when metaPath and
	// metaSHA are known. Use metadata(), never the fields.
	unchecked *sidecarCheck
}

// sidecarCheck is the check of a store's sidecar against its manifest,
// made the first time a page or a request needs the sidecar instead of
// at start-up, where thousands of them would be read before the first
// answer.
type sidecarCheck struct {
	once sync.Once
	log  *slog.Logger
}

// metadata returns the wheel's sidecar and its hash, or two "" when none
// is advertised. A store's sidecar is advertised only if it exists and
// matches the hash the manifest records (any hash when it records none):
// a client that is promised metadata fails the install without it.
func (lf *localFile) metadata() (path, sha string) {
	if c := lf.unchecked; c != nil {
		c.once.Do(func() {
			want := lf.metaSHA
			lf.metaPath, lf.metaSHA = checkSidecar(lf.metaPath, want)
			if lf.metaSHA == "" && want != "" {
				c.log.Warn("not advertising metadata whose sidecar is missing or does not match the manifest", "file", lf.entry.Filename)
			}
		})
	}
	return lf.metaPath, lf.metaSHA
}

// catalog is the files of one store, by name and by project.
type catalog struct {
	files    map[string]*localFile
	projects map[string][]*localFile // sorted by file name
	private  map[string]bool         // projects a baked entry marks private
}

func newCatalog() *catalog {
	return &catalog{files: map[string]*localFile{}, projects: map[string][]*localFile{}, private: map[string]bool{}}
}

// loadCatalog reads a store's entries, keeping only those whose file was
// in place with the recorded size when the store was opened. A wheel's
// sidecar is checked when first needed (localFile.metadata).
func loadCatalog(st *wheelhouse.Store, fetched bool, log *slog.Logger) *catalog {
	c := newCatalog()
	if st == nil {
		return c
	}
	if linkedFilesDir(filepath.Join(st.Dir(), wheelhouse.FilesDir)) {
		log.Error("the wheelhouse's files/ folder is a link or not a folder; serving none of it", "wheelhouse", st.Dir())
		return c
	}
	for _, e := range st.Entries() {
		if lf := checkEntry(st, e, fetched, log); lf != nil {
			c.add(lf)
		}
	}
	return c
}

// checkEntry returns the local file of a manifest entry, or nil (and a
// log line) when its name, project, file or size was not right.
func checkEntry(st *wheelhouse.Store, e wheelhouse.Entry, fetched bool, log *slog.Logger) *localFile {
	if !wheelhouse.ValidFilename(e.Filename) || !simple.ValidSHA256(e.SHA256) {
		log.Warn("skipping a manifest entry with no valid name or hash", "file", e.Filename, "wheelhouse", st.Dir())
		return nil
	}
	lf := &localFile{entry: e, project: distname.NormalizeName(e.Project), path: st.Path(e.Filename)}
	if lf.project == "" {
		if p, _, ok := splitFilename(e.Filename, ""); ok {
			lf.project = distname.NormalizeName(p)
		}
	}
	if !validProjectName(lf.project) {
		log.Warn("skipping a manifest entry with no valid project name", "file", e.Filename, "project", e.Project)
		return nil
	}
	// Opening the store looked at every file (a stat each): its findings
	// are not made again. A file changed since is refused when asked for.
	if st.Mismatched(e.Filename) {
		log.Warn("skipping a file that is missing, not a regular file or not of the size the manifest records", "file", e.Filename, "wheelhouse", st.Dir())
		return nil
	}
	switch {
	case fetched:
		lf.kind = kindFetched
	case e.Origin.Kind == wheelhouse.OriginVCS:
		lf.kind = kindFork
	case e.Origin.Kind == wheelhouse.OriginSdist:
		lf.kind = kindSdist
	case e.Origin.Kind == wheelhouse.OriginUpload:
		lf.kind = kindUploaded
	}
	if e.IsWheel() {
		lf.metaPath, lf.metaSHA = st.MetadataPath(e.Filename), e.MetadataSHA256
		lf.unchecked = &sidecarCheck{log: log}
	}
	return lf
}

// checkSidecar hashes a metadata sidecar and returns its path and hash when
// it exists and matches want (any hash when want is empty).
func checkSidecar(p, want string) (string, string) {
	got, err := hashFile(p, maxMetadataSize)
	if err != nil || (want != "" && got != want) {
		return "", ""
	}
	return p, got
}

func hashFile(p string, limit int64) (string, error) {
	f, fi, err := openRegular(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if fi.Size() > limit {
		return "", errTooLarge
	}
	// Pooled: a buffer of its own per file was most of the allocation
	// when every sidecar was hashed at start, and pages of big projects
	// still check many at once.
	buf := hashBuffers.Get().(*[]byte)
	defer hashBuffers.Put(buf)
	h := sha256.New()
	n, err := io.CopyBuffer(h, io.LimitReader(f, limit+1), *buf)
	if err != nil {
		return "", err
	}
	if n > limit {
		return "", errTooLarge
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

var hashBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// add puts a file in, replacing one of the same name.
func (c *catalog) add(lf *localFile) {
	name := lf.entry.Filename
	if old, ok := c.files[name]; ok {
		fs := c.projects[old.project]
		for i, f := range fs {
			if f == old {
				c.projects[old.project] = append(fs[:i:i], fs[i+1:]...)
				break
			}
		}
	}
	c.files[name] = lf
	fs := append(c.projects[lf.project], lf)
	sort.Slice(fs, func(i, j int) bool { return fs[i].entry.Filename < fs[j].entry.Filename })
	c.projects[lf.project] = fs
	if lf.entry.Private || lf.entry.Origin.Kind == wheelhouse.OriginVCS {
		c.private[lf.project] = true
	}
}

// row is one file as a project page lists it.
type row struct {
	filename       string
	sha256         string // "" when unknown
	requiresPython string
	yanked         bool
	yankedReason   string
	meta           bool   // core metadata is advertised
	metaSHA        string // its hash; "" with meta means "true"
	size           int64  // -1 when unknown
	uploadTime     time.Time
}

func (lf *localFile) row() row {
	_, metaSHA := lf.metadata()
	return row{
		filename:       lf.entry.Filename,
		sha256:         lf.entry.SHA256,
		requiresPython: lf.entry.RequiresPython,
		meta:           metaSHA != "",
		metaSHA:        metaSHA,
		size:           lf.entry.Size,
		uploadTime:     lf.entry.UploadTime,
	}
}
