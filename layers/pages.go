package layers

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/larder-build/larder/wheelhouse"
)

// The pages layer holds an image's static simple index as it was when the
// layer was made; a refresh keeps it and puts into the delta only the
// pages that differ from it. What the kept layer holds is never taken from
// the previous image's label: it is known from the record this machine
// wrote when it made (or last checked) that very layer, found by diff ID,
// or else read from the layer itself, which must hold nothing but pages.
// A tampered previous image can therefore not carry pages of its own into
// the new one.

// Bounds on reading a kept pages layer: far past what a closure of
// 100,000 projects writes.
const (
	maxPagesEntries = 1 << 20
	maxPageFile     = 64 << 20
	maxPagesBytes   = 1 << 30
)

// KeptLayer opens the uncompressed tar of a layer of the image a bake
// refreshes, for a platform, by diff ID.
type KeptLayer func(ctx context.Context, platform string, diffID v1.Hash) (io.ReadCloser, error)

// pagesRecord is what a pages layer holds: a digest of each project's
// pages and of the root pages, and, when the layer was made here, the
// keys of what they were made from.
type pagesRecord struct {
	Root     string            `json:"root"`
	Projects map[string]string `json:"projects"`
	Keys     *pageKeys         `json:"keys,omitempty"`
	// Dir is the wheelhouse folder the pages are below, in records
	// written since it was kept: a record of another folder's layer
	// is not taken.
	Dir string `json:"dir,omitempty"`
}

// pageKeys are the wheelhouse.StaticIndex keys of the root pages and of
// each project's.
type pageKeys struct {
	Root     string            `json:"root"`
	Projects map[string]string `json:"projects"`
}

// pageSum is a page, by its path below the wheelhouse ("simple/six/index.html"),
// and its sha256.
type pageSum struct{ rel, sha string }

// digestPages digests pages: each project's together, and the root pages
// together, in path order: 128 bits of the sha256 of their names and
// sha256s.
func digestPages(pages []pageSum) pagesRecord {
	slices.SortFunc(pages, func(a, b pageSum) int { return strings.Compare(a.rel, b.rel) })
	const rootKey = "/" // no project is named so
	groups := map[string][]pageSum{}
	for _, p := range pages {
		name, root := pageGroup(p.rel)
		if root {
			name = rootKey
		}
		groups[name] = append(groups[name], p)
	}
	rec := pagesRecord{Projects: map[string]string{}}
	for name, ps := range groups {
		h := sha256.New()
		for _, p := range ps {
			io.WriteString(h, path.Base(p.rel)+" "+p.sha+"\n")
		}
		d := hex.EncodeToString(h.Sum(nil)[:16])
		if name == rootKey {
			rec.Root = d
		} else {
			rec.Projects[name] = d
		}
	}
	return rec
}

// pageGroup returns the project a page (by its path below the wheelhouse)
// belongs to, or root for the index of every project.
func pageGroup(rel string) (name string, root bool) {
	rest := strings.TrimPrefix(rel, wheelhouse.SimpleDir+"/")
	name, _, found := strings.Cut(rest, "/")
	return name, !found
}

// valid reports whether a record could have been written by digestPages.
func (r *pagesRecord) valid() bool {
	if !validPagesDigest(r.Root) || r.Projects == nil {
		return false
	}
	for name, d := range r.Projects {
		if !wheelhouse.ValidProjectDir(name) || !validPagesDigest(d) {
			return false
		}
	}
	if k := r.Keys; k != nil {
		if !validPagesDigest(k.Root) || len(k.Projects) != len(r.Projects) {
			return false
		}
		for name, d := range k.Projects {
			if _, ok := r.Projects[name]; !ok || !validPagesDigest(d) {
				return false
			}
		}
	}
	return true
}

// validPagesDigest reports whether d can be the digest of a group of
// pages.
func validPagesDigest(d string) bool {
	return len(d) == 32 && strings.Trim(d, "0123456789abcdef") == ""
}

// pagesDir is where the Builder keeps the records of pages layers it made
// or checked, one file per diff ID.
const pagesDir = "pages"

func (b *Builder) pagesRecordPath(diffID v1.Hash) string {
	return filepath.Join(b.dir, pagesDir, diffID.Hex+".json")
}

// rememberPages keeps what the pages layer diffID holds, for the next
// refresh on this machine. A record that cannot be kept costs that bake
// a read of the layer, nothing else.
func (b *Builder) rememberPages(diffID v1.Hash, rec pagesRecord) {
	if b.dir == "" || b.dryRun {
		return
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return
	}
	if err := os.MkdirAll(filepath.Join(b.dir, pagesDir), 0o755); err != nil {
		return
	}
	_ = wheelhouse.WriteAtomic(b.pagesRecordPath(diffID), 0o644, false, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// keptPages returns what the pages layer a stack would keep holds, and
// the layer's diff ID: from this machine's record of it, else read from
// the layer itself. A nil record when neither can say (the layer is then
// made afresh).
func (b *Builder) keptPages(ctx context.Context, c Content, s *Stack) (*pagesRecord, v1.Hash, error) {
	if s.Pages == nil {
		return nil, v1.Hash{}, nil
	}
	diffID, err := v1.NewHash(s.Pages.DiffID)
	if err != nil {
		return nil, v1.Hash{}, nil
	}
	if b.dir != "" {
		if data, err := os.ReadFile(b.pagesRecordPath(diffID)); err == nil {
			var rec pagesRecord
			if json.Unmarshal(data, &rec) == nil && rec.valid() && (rec.Dir == "" || rec.Dir == c.dir()) {
				return &rec, diffID, nil
			}
		}
	}
	if c.Kept == nil {
		return nil, v1.Hash{}, nil
	}
	rec, err := readKept(ctx, c, s.Platform, diffID)
	if err != nil || rec == nil {
		return nil, v1.Hash{}, err
	}
	b.rememberPages(diffID, *rec)
	return rec, diffID, nil
}

// readKept reads a kept pages layer: nil, and no error, when it cannot
// be read or is not a pages layer; only ctx's end is an error.
func readKept(ctx context.Context, c Content, platform string, diffID v1.Hash) (*pagesRecord, error) {
	rc, err := c.Kept(ctx, platform, diffID)
	if err == nil {
		defer rc.Close()
		var rec *pagesRecord
		if rec, err = readPages(rc, c.dir(), diffID); err == nil {
			rec.Dir = c.dir()
			return rec, nil
		}
	}
	return nil, ctx.Err()
}

// errNotPages is a kept layer that holds more, or other, than pages.
var errNotPages = errors.New("not a pages layer")

// readPages reads a pages layer's tar and returns what it holds. The
// layer must hold only the folders and pages of a static simple index
// below dir, as regular files and folders without special modes, and
// its bytes must be those of diffID.
func readPages(r io.Reader, dir string, diffID v1.Hash) (*pagesRecord, error) {
	whole := sha256.New()
	in := io.TeeReader(io.LimitReader(r, maxPagesBytes), whole)
	tr := tar.NewReader(in)
	base := strings.TrimPrefix(dir, "/") + "/"
	simple := base + wheelhouse.SimpleDir + "/"
	var pages []pageSum
	for n := 0; ; n++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if n >= maxPagesEntries || h.Mode&^0o777 != 0 || hasXattr(h.PAXRecords) {
			return nil, errNotPages
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if !pagesFolder(h.Name, simple) {
				return nil, errNotPages
			}
		case tar.TypeReg:
			rel, ok := strings.CutPrefix(h.Name, base)
			if !ok || !pageFile(rel) || h.Size > maxPageFile {
				return nil, errNotPages
			}
			sum := sha256.New()
			if _, err := io.Copy(sum, tr); err != nil {
				return nil, err
			}
			pages = append(pages, pageSum{rel, hex.EncodeToString(sum.Sum(nil))})
		default:
			return nil, errNotPages
		}
	}
	// The rest of the stream (tar's end blocks, and anything after them)
	// counts toward its hash.
	if _, err := io.Copy(io.Discard, in); err != nil {
		return nil, err
	}
	if hex.EncodeToString(whole.Sum(nil)) != diffID.Hex {
		return nil, fmt.Errorf("the layer's bytes are not those of %s", diffID)
	}
	rec := digestPages(pages)
	if rec.Root == "" {
		return nil, errNotPages
	}
	return &rec, nil
}

// pagesFolder reports whether name is a folder a pages layer writes: a
// parent of the simple index, the index's folder, or a project's.
func pagesFolder(name, simple string) bool {
	if strings.HasPrefix(simple, name) && strings.HasSuffix(name, "/") {
		return true
	}
	rest, ok := strings.CutPrefix(name, simple)
	if !ok {
		return false
	}
	project, ok := strings.CutSuffix(rest, "/")
	return ok && wheelhouse.ValidProjectDir(project)
}

// pageFile reports whether rel (below the wheelhouse) is a page a static
// simple index holds.
func pageFile(rel string) bool {
	rest, ok := strings.CutPrefix(rel, wheelhouse.SimpleDir+"/")
	if !ok {
		return false
	}
	project, file, nested := strings.Cut(rest, "/")
	if !nested {
		file = project
	} else if !wheelhouse.ValidProjectDir(project) || strings.Contains(file, "/") {
		return false
	}
	return file == "index.html" || file == "index.json"
}

func hasXattr(pax map[string]string) bool {
	for k := range pax {
		if strings.HasPrefix(k, "SCHILY.xattr.") || strings.HasPrefix(k, "LIBARCHIVE.xattr.") {
			return true
		}
	}
	return false
}
