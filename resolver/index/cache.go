package index

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/larder-build/larder/resolver/simple"
)

// cache is an on-disk HTTP cache for index pages and an immutable store
// for metadata keyed by content hash. Writes go through a temporary file
// and a rename, so a crash never leaves a torn entry.
type cache struct {
	dir string
	now func() time.Time

	// parsed keeps the pages a CachedOnly twin parsed until its client
	// has them confirmed by a 304, so that such a page is parsed once.
	// Nothing else is kept: the bodies of a whole resolution's pages would
	// otherwise stay in memory with it.
	mu     sync.Mutex
	parsed map[string]parsedPage // page URL -> page

	// swept is done once the cache's first write removed the
	// temporary files killed writers left in tmpDir.
	swept sync.Once
}

// parsedPage is a page and the response it was parsed from.
type parsedPage struct {
	finalURL, contentType string
	body                  []byte
	page                  *Page
}

// entry is a cached response: a JSON header line, then the body.
type entry struct {
	URL          string    `json:"url"`
	FinalURL     string    `json:"final_url"`
	ContentType  string    `json:"content_type"`
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
	Stored       time.Time `json:"stored"`
	MaxAge       int       `json:"max_age"` // seconds; -1 = must revalidate
	Body         []byte    `json:"-"`
}

func (e *entry) fresh(now time.Time) bool {
	age := time.Duration(min(e.MaxAge, maxFreshSeconds)) * time.Second
	return e.MaxAge > 0 && now.Before(e.Stored.Add(age))
}

// maxFreshSeconds bounds how long a page is answered from the cache
// without asking the index, whatever max-age it sent: ten times PyPI's
// own (600 s). A max-age of years would otherwise keep a lock from ever
// seeing a new release (only emptying the cache would), and one past
// 292 years overflowed into a time in the past or future at random.
const maxFreshSeconds = 6000

func newCache(dir string) *cache {
	return &cache{dir: dir, now: time.Now, parsed: map[string]parsedPage{}}
}

// parsePage parses the page of an entry, or returns a copy of the page a
// twin parsed from the same response (its Files are shared: read only),
// which it then forgets. keep has the page kept for that: the twin's.
func (c *cache) parsePage(e *entry, keep bool) (*Page, error) {
	if c == nil {
		return parsePage(e.FinalURL, e.ContentType, e.Body)
	}
	c.mu.Lock()
	pp, ok := c.parsed[e.URL]
	if ok && !keep {
		delete(c.parsed, e.URL)
	}
	c.mu.Unlock()
	if ok && pp.finalURL == e.FinalURL && pp.contentType == e.ContentType && bytes.Equal(pp.body, e.Body) {
		cp := *pp.page
		return &cp, nil
	}
	p, err := parsePage(e.FinalURL, e.ContentType, e.Body)
	if err != nil || !keep {
		return p, err
	}
	cp := *p
	c.mu.Lock()
	c.parsed[e.URL] = parsedPage{finalURL: e.FinalURL, contentType: e.ContentType, body: e.Body, page: &cp}
	c.mu.Unlock()
	return p, nil
}

func (c *cache) pagePath(key string) string {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])
	return filepath.Join(c.dir, "http", h[:2], h)
}

func (c *cache) getPage(key string) (*entry, bool) {
	if c == nil {
		return nil, false
	}
	f, err := os.Open(c.pagePath(key))
	if err != nil {
		return nil, false
	}
	defer f.Close()
	r := bufio.NewReader(f)
	line, err := r.ReadBytes('\n')
	if err != nil {
		return nil, false
	}
	var e entry
	if json.Unmarshal(line, &e) != nil || e.URL != key {
		return nil, false
	}
	if e.Body, err = io.ReadAll(r); err != nil {
		return nil, false
	}
	return &e, true
}

func (c *cache) putPage(key string, e *entry) error {
	if c == nil {
		return nil
	}
	head, err := json.Marshal(e)
	if err != nil {
		return err
	}
	data := append(append(head, '\n'), e.Body...)
	return c.writeAtomic(c.pagePath(key), data)
}

// The metadata cache keeps two kinds of entry. Metadata read from a
// whole file whose sha256 was checked belongs to that content wherever
// it is listed, and is kept under the file's sha256. Metadata an index
// served (its PEP 658 file, or the range reads of a wheel) is only what
// that URL said: its hash, when there is one, is the page's word too.
// It is kept under the file's sha256 and URL, so that an index listing
// another's file (its sha256 from PyPI) with metadata of its own (a
// Requires-Dist of its choosing) is believed about its own URL only, not
// by the locks against PyPI that share the cache.

// metaPath is where the metadata read from the file with this sha256
// lives.
func (c *cache) metaPath(fileSHA256 string) string {
	return filepath.Join(c.dir, "metadata", "file-sha256", fileSHA256[:2], fileSHA256)
}

// servedMetaPath is where the metadata the file's URL served lives.
func (c *cache) servedMetaPath(fileSHA256, fileURL string) string {
	sum := sha256.Sum256([]byte(fileSHA256 + "\n" + fileURL))
	h := hex.EncodeToString(sum[:])
	return filepath.Join(c.dir, "metadata", "served", h[:2], h)
}

func (c *cache) getMeta(f File) ([]byte, bool) {
	sha := f.SHA256()
	if c == nil || !simple.ValidSHA256(sha) {
		return nil, false
	}
	if b, err := os.ReadFile(c.metaPath(sha)); err == nil {
		return b, true
	}
	b, err := os.ReadFile(c.servedMetaPath(sha, f.URL))
	return b, err == nil
}

func (c *cache) hasMeta(f File) bool {
	sha := f.SHA256()
	if c == nil || !simple.ValidSHA256(sha) {
		return false
	}
	for _, p := range []string{c.metaPath(sha), c.servedMetaPath(sha, f.URL)} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

// putMeta keeps the metadata of f: fromFile says it was read from the
// whole file, its sha256 checked.
func (c *cache) putMeta(f File, b []byte, fromFile bool) error {
	sha := f.SHA256()
	if c == nil || !simple.ValidSHA256(sha) {
		return nil
	}
	if fromFile {
		return c.writeAtomic(c.metaPath(sha), b)
	}
	return c.writeAtomic(c.servedMetaPath(sha, f.URL), b)
}

// cacheControl reads max-age and the no-cache/no-store directives.
func cacheControl(h http.Header) (maxAge int, store bool) {
	maxAge, store = 0, true
	for _, d := range strings.Split(h.Get("Cache-Control"), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(strings.ToLower(d)), "=")
		switch k {
		case "no-store":
			store = false
		case "no-cache":
			maxAge = -1
		case "max-age":
			if n, err := strconv.Atoi(strings.Trim(v, `"`)); err == nil && maxAge >= 0 {
				maxAge = n
			}
		}
	}
	return maxAge, store
}

// tmpDir is where every write is staged before its rename into place:
// one folder of its own (the cache folder is shared with git checkouts
// and builds), so that what a killed writer left is found without walking
// the cache's thousand folders.
func (c *cache) tmpDir() string { return filepath.Join(c.dir, "index-tmp") }

// tmpPrefix starts the name of every staged write.
const tmpPrefix = ".tmp-"

// staleTemp is how old a staged write must be to be taken for a killed
// writer's: a write is a page or a metadata file, done in well under a
// second, and the cache has no lock that would say its writer is gone.
const staleTemp = time.Hour

// writeAtomic writes data to name through a staged file in tmpDir and a
// rename, so that name is always whole. The cache's first write removes
// the staged files older than staleTemp.
func (c *cache) writeAtomic(name string, data []byte) error {
	c.swept.Do(c.removeStale)
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return fmt.Errorf("creating cache folder: %w", err)
	}
	if err := os.MkdirAll(c.tmpDir(), 0o755); err != nil {
		return fmt.Errorf("creating cache folder: %w", err)
	}
	tmp, err := os.CreateTemp(c.tmpDir(), tmpPrefix+"*")
	if err != nil {
		return fmt.Errorf("writing cache: %w", err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing cache: %w", err)
	}
	return nil
}

// removeStale removes the staged writes in tmpDir that are older than
// staleTemp: those of writers killed between their create and their
// rename. Only names writeAtomic makes are touched. Until it has done so
// once, it also looks beside the entries, where writes were staged before
// tmpDir (removeOldStaging).
func (c *cache) removeStale() {
	cutoff := time.Now().Add(-staleTemp) // file times are the clock's, not c.now's
	c.removeOldStaging(cutoff)
	ents, err := os.ReadDir(c.tmpDir())
	if err != nil {
		return
	}
	for _, d := range ents {
		if !strings.HasPrefix(d.Name(), tmpPrefix) || !d.Type().IsRegular() {
			continue
		}
		if info, err := d.Info(); err == nil && info.ModTime().Before(cutoff) {
			_ = os.Remove(filepath.Join(c.tmpDir(), d.Name()))
		}
	}
}

// oldStagingSwept is the file in tmpDir that says removeOldStaging has
// left nothing to remove: the cache's folders are listed once, not on
// every run.
const oldStagingSwept = "old-staging-swept"

// cacheFolders hold the entries, one subfolder per two hex digits: where
// writes were staged, as .tmp- and decimal digits, before tmpDir.
var cacheFolders = []string{"http", filepath.Join("metadata", "file-sha256"), filepath.Join("metadata", "served")}

// removeOldStaging removes the staged writes that an earlier larder, which
// staged beside the entries, left there when it was killed mid-write:
// those older than cutoff (the cache has no lock, and such a larder may
// still run), named as it named them (.tmp- and decimal digits). Once a
// listing leaves none, it says so in tmpDir and does not list again.
func (c *cache) removeOldStaging(cutoff time.Time) {
	marker := filepath.Join(c.tmpDir(), oldStagingSwept)
	if _, err := os.Lstat(marker); err == nil {
		return
	}
	done := true
	for _, f := range cacheFolders {
		top := filepath.Join(c.dir, f)
		subs, err := os.ReadDir(top)
		if err != nil {
			done = done && errors.Is(err, fs.ErrNotExist)
			continue
		}
		for _, sub := range subs {
			if !sub.IsDir() {
				continue
			}
			dir := filepath.Join(top, sub.Name())
			ents, err := os.ReadDir(dir)
			if err != nil {
				done = false
				continue
			}
			for _, d := range ents {
				if !isOldStaging(d.Name()) || !d.Type().IsRegular() {
					continue
				}
				info, err := d.Info()
				if err != nil || !info.ModTime().Before(cutoff) || os.Remove(filepath.Join(dir, d.Name())) != nil {
					done = false // young enough to be live: look again next run
				}
			}
		}
	}
	if done && os.MkdirAll(c.tmpDir(), 0o755) == nil {
		_ = os.WriteFile(marker, nil, 0o644)
	}
}

// isOldStaging reports whether name is as an earlier larder named a staged
// write beside the entries (os.CreateTemp's ".tmp-*"): .tmp- and decimal
// digits.
func isOldStaging(name string) bool {
	digits, ok := strings.CutPrefix(name, tmpPrefix)
	return ok && digits != "" && strings.Trim(digits, "0123456789") == ""
}

// DefaultCacheDir returns $XDG_CACHE_HOME/larder, or ~/.cache/larder.
func DefaultCacheDir() string {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "larder")
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "larder")
	}
	return filepath.Join(os.TempDir(), "larder-cache")
}
