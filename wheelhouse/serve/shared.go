package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/larder-build/larder/resolver/distname"
	"github.com/larder-build/larder/resolver/simple"
	"github.com/larder-build/larder/wheelhouse"
)

// Cache is a shared store of wheelhouses other machines pushed (a
// registry, for larder serve --cache): the files it lists are served as
// local ones, read from it and verified as they go out.
type Cache interface {
	// Files lists the files the cache's wheelhouses hold.
	Files(ctx context.Context) ([]wheelhouse.Entry, error)
	// Open reads the file whose content has this sha256. The bytes are
	// the cache's: the server verifies them.
	Open(ctx context.Context, sha256 string) (io.ReadCloser, error)
}

// Keeper is a Cache that also keeps uploads, so that every server sharing
// it serves them and knows their projects are private.
type Keeper interface {
	// Keep stores an upload: its entry, its bytes at path and, for a
	// wheel, its core metadata. It fails with an error wrapping
	// ErrConflict when the cache holds other bytes under that file name.
	Keep(ctx context.Context, e wheelhouse.Entry, path string, metadata []byte) error
	// Kept reports whether an upload of the project (a normalized name)
	// was kept, by this server or any other: asked before the upstream
	// is, for a name no list names, so that an upload is private on
	// every server the moment it was kept.
	Kept(ctx context.Context, project string) (bool, error)
}

// ErrConflict says a shared cache holds other bytes under a file name.
var ErrConflict = errors.New("a file of that name with other content exists")

// ErrPartlyKept is wrapped by a Keeper's error when the file itself was
// kept in the shared cache but what goes with it was not (its project's
// record): other servers may serve it already, and keeping it again
// completes it.
var ErrPartlyKept = errors.New("kept only in part")

// ErrTooLarge is wrapped by a Keeper's error when the shared cache
// refuses an upload's file as too large (a registry, or a proxy in front
// of it, answering 413): the uploader's to fix, not a failure that
// uploading again would get past.
var ErrTooLarge = errors.New("refused as too large")

// sharedListTimeout bounds the listing of a shared cache at start.
const sharedListTimeout = time.Minute

// WithCache serves the files of a shared cache that the wheelhouse lacks,
// before the upstream is asked. Their projects count as local: a private
// one stays private and never falls through.
func WithCache(c Cache) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("shared cache: none given")
		}
		o.shared = c
		return nil
	}
}

// loadShared lists a shared cache's files the baked store lacks, checked
// as a manifest's entries are. Nothing is on disk: path stays empty.
func (s *Server) loadShared(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, sharedListTimeout)
	defer cancel()
	entries, err := s.o.shared.Files(ctx)
	if err != nil {
		return fmt.Errorf("listing the shared cache: %w", err)
	}
	c := newCatalog()
	// A file uploaded here since start is listed from the wheelhouse it
	// was uploaded to.
	s.cacheMu.RLock()
	defer s.cacheMu.RUnlock()
	for _, e := range entries {
		if _, baked := s.baked.files[e.Filename]; baked {
			continue
		}
		if _, here := s.uploaded.files[e.Filename]; here {
			continue
		}
		if !wheelhouse.ValidFilename(e.Filename) || !simple.ValidSHA256(e.SHA256) || e.Size < 0 {
			s.log.Warn("skipping a shared cache file with no valid name, hash or size", "file", e.Filename)
			continue
		}
		if first, ok := c.files[e.Filename]; ok {
			// The first wheelhouse's (tags are read in order) is listed;
			// whichever it is, its bytes are checked against it. An
			// upload of the same bytes (a later tag) makes it private.
			if e.Private {
				c.private[first.project] = true
			}
			continue
		}
		lf := &localFile{entry: e, project: distname.NormalizeName(e.Project)}
		if lf.project == "" {
			if p, _, ok := splitFilename(e.Filename, ""); ok {
				lf.project = distname.NormalizeName(p)
			}
		}
		if !validProjectName(lf.project) {
			s.log.Warn("skipping a shared cache file with no valid project name", "file", e.Filename, "project", e.Project)
			continue
		}
		c.add(lf)
	}
	s.shared.Store(c)
	return nil
}

// sharedRefreshEvery is how old a shared cache's list may be when a
// project no catalog knows is asked for; sharedRefreshTimeout bounds the
// reading of it then.
const (
	sharedRefreshEvery   = time.Second
	sharedRefreshTimeout = 10 * time.Second
)

// keptTimeout bounds the question whether a cache kept an upload of a
// name; after a failure the cache is not asked for keptRetryAfter.
const (
	keptTimeout    = 2 * time.Second
	keptRetryAfter = 30 * time.Second
)

// refreshShared lists the shared cache again for a request that
// arrived at since: with must (a project the cache kept an upload of),
// unless a list started after the request arrived; else unless a list
// ended less than sharedRefreshEvery ago, or failed less than
// keptRetryAfter ago. Concurrent callers wait for the one list in
// progress instead of starting their own. A list that fails keeps the
// last one.
func (s *Server) refreshShared(since time.Time, must bool) {
	s.sharedMu.Lock()
	defer s.sharedMu.Unlock()
	switch {
	case must && s.sharedStarted.After(since):
		return
	case !must && (time.Since(s.sharedAt) < sharedRefreshEvery || time.Since(s.sharedFailed) < keptRetryAfter):
		return
	}
	s.sharedStarted = time.Now()
	ctx, cancel := context.WithTimeout(s.ctx, sharedRefreshTimeout)
	defer cancel()
	if err := s.loadShared(ctx); err != nil {
		s.sharedFailed = time.Now()
		s.log.Warn("listing the shared cache again failed; its last list is used", "err", err, "retry_after", keptRetryAfter)
	} else {
		// Pages rendered from the last list are stale.
		s.cacheGen.Add(1)
	}
	s.sharedAt = time.Now()
}

// refreshForUnknown reads the shared cache again before the upstream is
// asked about a project no list marks private: at once when the cache
// kept an upload of it since (through another server), and the project
// is then private whatever the list gives; else, for a project the
// shared list does not hold (listed is false), at most once a second
// (for wheelhouses pushed since). A project it holds as public is listed
// again that way only while the cache cannot say whether it kept an
// upload of it: else every page of it would list the cache.
func (s *Server) refreshForUnknown(ctx context.Context, norm string, listed bool) {
	since := time.Now()
	must, answered := false, false
	k, keeps := s.o.shared.(Keeper)
	// A registry that failed to answer is not asked again for a while:
	// every page of a name it does not know would wait on it.
	if keeps && since.UnixNano()-s.keptFailed.Load() > int64(keptRetryAfter) {
		kctx, cancel := context.WithTimeout(ctx, keptTimeout)
		kept, err := k.Kept(kctx, norm)
		cancel()
		if err != nil && ctx.Err() == nil {
			s.keptFailed.Store(time.Now().UnixNano())
			s.log.Warn("asking the shared cache about a project failed; its last list is used, and it is not asked again for a while", "project", norm, "err", err, "retry_after", keptRetryAfter)
		}
		if kept {
			// Private from now on, even if the list below fails or
			// misses it: the cache said another server took an upload.
			s.keptNames.Store(norm, true)
		}
		must, answered = kept, err == nil
	}
	if listed && !must && (answered || !keeps) {
		return
	}
	s.refreshShared(since, must)
}

// serveShared streams a shared cache's file, verified against its sha256
// and size: the last bytes are held back until both match, so a client
// given wrong bytes sees a cut download, never a whole wrong file.
func (s *Server) serveShared(w http.ResponseWriter, r *http.Request, lf *localFile) {
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("ETag", `"`+lf.entry.SHA256+`"`)
	h.Set("Cache-Control", immutable)
	h.Set("Content-Length", strconv.FormatInt(lf.entry.Size, 10))
	if r.Method == http.MethodHead {
		return
	}
	if etagMatch(r.Header.Get("If-None-Match"), `"`+lf.entry.SHA256+`"`) {
		h.Del("Content-Length")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	rc, err := s.o.shared.Open(ctx, lf.entry.SHA256)
	s.writeWithin(w, 0) // from now: the registry may have taken a while
	if err != nil {
		h.Del("Content-Length")
		if r.Context().Err() != nil {
			return
		}
		s.log.Warn("reading a file from the shared cache failed", "file", lf.entry.Filename, "err", err)
		http.Error(w, "reading "+lf.entry.Filename+" from the shared cache failed", http.StatusBadGateway)
		return
	}
	defer rc.Close()
	w.WriteHeader(http.StatusOK)
	http.NewResponseController(w).Flush()
	// One byte past the size is read, so that a longer blob is caught.
	s.relay(w, r, io.LimitReader(rc, lf.entry.Size+1), cancel, nil, lf.entry.Filename, lf.entry.SHA256, lf.entry.Size)
}
