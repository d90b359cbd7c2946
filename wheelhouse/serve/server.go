package serve

import (
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/larder-build/larder/wheelhouse"
)

// Timeouts and back-off of the upstream, and server limits.
const (
	connectTimeout    = 2 * time.Second
	pageTimeout       = 10 * time.Second
	idleReadTimeout   = 60 * time.Second // a file download that stalls this long is cut
	backoffMin        = 30 * time.Second
	backoffMax        = 5 * time.Minute
	readHeaderTimeout = 10 * time.Second
	maxHeaderBytes    = 64 << 10
	shutdownGrace     = 10 * time.Second
	// renderedCacheBytes bounds the rendered project pages kept;
	// keptPageBytes bounds one form of a page kept whole. A larger page
	// keeps only its validators and is written from its listing as it
	// goes out, so that no client holds a copy of it.
	renderedCacheBytes = 4 << 20
	keptPageBytes      = 256 << 10
)

// Option configures a Server.
type Option func(*options) error

type options struct {
	upstream       string
	fileHosts      []string
	offline        bool
	private        []string
	cacheDir       string
	ttl            time.Duration
	log            *slog.Logger
	accessLog      bool
	version        string
	connectTimeout time.Duration
	pageTimeout    time.Duration
	backoffMin     time.Duration
	backoffMax     time.Duration
	now            func() time.Time
}

// WithUpstream sets the simple index to fall through to; "" disables
// fall-through.
func WithUpstream(u string) Option {
	return func(o *options) error {
		if u != "" {
			if err := checkUpstream(u); err != nil {
				return err
			}
		}
		o.upstream = u
		return nil
	}
}

// WithFileHosts adds origins (https://host[:port]) an upstream's pages may
// name for their files. The upstream's own origin is always allowed, and
// files.pythonhosted.org for PyPI; a file anywhere else is not listed.
func WithFileHosts(hosts ...string) Option {
	return func(o *options) error {
		for _, h := range hosts {
			if _, err := checkFileHost(h); err != nil {
				return err
			}
		}
		o.fileHosts = append(o.fileHosts, hosts...)
		return nil
	}
}

// WithOffline never contacts the upstream; fall-through files cached
// earlier are still served.
func WithOffline(offline bool) Option {
	return func(o *options) error { o.offline = offline; return nil }
}

// WithPrivate adds globs of project names that never fall through.
func WithPrivate(globs ...string) Option {
	return func(o *options) error {
		if _, err := newGlobMatcher(globs); err != nil {
			return err
		}
		o.private = append(o.private, globs...)
		return nil
	}
}

// WithCacheDir keeps verified fall-through files in dir (a
// wheelhouse.Store); without it they are streamed and not kept.
func WithCacheDir(dir string) Option {
	return func(o *options) error { o.cacheDir = dir; return nil }
}

// WithTTL sets how long an upstream page is used before it is revalidated.
func WithTTL(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("ttl %s: must not be negative", d)
		}
		o.ttl = d
		return nil
	}
}

// WithLogger sets where warnings (and, with WithAccessLog, requests) are
// logged; the default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l != nil {
			o.log = l
		}
		return nil
	}
}

// WithAccessLog logs every request at Info level.
func WithAccessLog(on bool) Option {
	return func(o *options) error { o.accessLog = on; return nil }
}

// WithVersion sets the version reported in /-/healthz and the upstream
// User-Agent.
func WithVersion(v string) Option {
	return func(o *options) error { o.version = v; return nil }
}

// withTimeouts and withBackoff shorten the upstream's timeouts and breaker
// periods for tests; withClock replaces the clock.
func withTimeouts(connect, page time.Duration) Option {
	return func(o *options) error { o.connectTimeout, o.pageTimeout = connect, page; return nil }
}

func withBackoff(min, max time.Duration) Option {
	return func(o *options) error { o.backoffMin, o.backoffMax = min, max; return nil }
}

func withClock(now func() time.Time) Option {
	return func(o *options) error { o.now = now; return nil }
}

// counters are the server's statistics.
type counters struct {
	upstreamRequests, upstreamFailures, upstreamSkipped atomic.Int64
	pagesFetched, pagesRevalidated, pagesCached         atomic.Int64
	filesProxied, filesCached, hashMismatches           atomic.Int64
	refused                                             atomic.Int64
}

// Stats counts what the server did since it started.
type Stats struct {
	// UpstreamRequests are requests sent upstream: pages, files, metadata.
	UpstreamRequests int64 `json:"upstream_requests"`
	// UpstreamFailures are those that failed for the upstream's sake
	// (refused, timed out, 5xx).
	UpstreamFailures int64 `json:"upstream_failures"`
	// UpstreamSkipped counts requests the open breaker answered instead.
	UpstreamSkipped int64 `json:"upstream_skipped"`
	// PagesFetched, PagesRevalidated and PagesCached count upstream pages
	// downloaded, confirmed by 304, and used from the cache.
	PagesFetched     int64 `json:"pages_fetched"`
	PagesRevalidated int64 `json:"pages_revalidated"`
	PagesCached      int64 `json:"pages_cached"`
	// FilesProxied counts upstream files streamed to clients, FilesCached
	// those verified and kept, HashMismatches those refused.
	FilesProxied   int64 `json:"files_proxied"`
	FilesCached    int64 `json:"files_cached"`
	HashMismatches int64 `json:"hash_mismatches"`
	// Refused counts upstream requests larder would not send: files on
	// hosts the upstream may not name, this server's own address, too
	// many redirects, and requests that came from this server itself.
	Refused int64 `json:"refused"`
}

// Server is an index server over a wheelhouse.Store. It is an
// http.Handler and safe for concurrent use.
type Server struct {
	o       options
	log     *slog.Logger
	private globMatcher
	baked   *catalog
	up      *upstream // nil when offline

	guard *selfGuard

	cache *wheelhouse.Store // nil when fall-through files are not kept
	// releaseCache ends the server's registration as a writer of cache.
	releaseCache func()
	closeOnce    sync.Once
	metas        metaMemo // verified metadata of wheels not cached yet
	cacheMu      sync.RWMutex
	cached       *catalog
	cacheGen     atomic.Uint64
	commitMu     sync.Mutex

	pagesMu    sync.Mutex
	pages      map[string]*cachedPage
	pagesBytes int64 // the rendered pages' bodies, up to renderedCacheBytes
	rootMu     sync.Mutex
	root       *cachedPage

	stats  counters
	ctx    context.Context
	cancel context.CancelFunc
}

// cachedPage is a rendered page and what it was rendered from: the
// generation of the local files and the upstream page's id, not the page
// itself, which the upstream's cache alone decides to keep.
type cachedPage struct {
	gen  uint64
	upID uint64
	p    *page
}

// New returns a server for store (nil serves an empty store).
func New(store *wheelhouse.Store, opts ...Option) (*Server, error) {
	o := options{
		ttl: DefaultTTL, version: "devel",
		connectTimeout: connectTimeout, pageTimeout: pageTimeout,
		backoffMin: backoffMin, backoffMax: backoffMax, now: time.Now,
		log: slog.New(slog.DiscardHandler),
	}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("configuring the index server: %w", err)
		}
	}
	private, err := newGlobMatcher(o.private)
	if err != nil {
		return nil, fmt.Errorf("configuring the index server: %w", err)
	}
	s := &Server{o: o, log: o.log, private: private, pages: map[string]*cachedPage{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.baked = loadCatalog(store, false, s.log)
	s.cached = newCatalog()
	if o.cacheDir != "" {
		if err := s.openCache(o.cacheDir); err != nil {
			return nil, err
		}
	}
	s.guard = newSelfGuard()
	if !o.offline && o.upstream != "" {
		allowed, err := allowedOrigins(o.upstream, o.fileHosts)
		if err != nil {
			return nil, fmt.Errorf("configuring the index server: %w", err)
		}
		s.up = &upstream{
			base: withTrailingSlash(o.upstream),
			client: &http.Client{
				Transport:     newTransport(o.connectTimeout, o.pageTimeout, s.guard.control),
				CheckRedirect: checkRedirect(allowed),
			},
			allowed:      allowed,
			via:          "1.1 " + s.guard.id,
			parses:       make(chan struct{}, maxParses),
			ttl:          o.ttl,
			pageTimeout:  o.pageTimeout,
			probeTimeout: o.connectTimeout,
			br:           newBreaker(o.backoffMin, o.backoffMax),
			now:          o.now,
			log:          s.log,
			stats:        &s.stats,
			userAgent:    "larder-index/" + o.version,
			ctx:          s.ctx,
			pages:        map[string]*list.Element{},
			flights:      map[string]*flight{},
			listed:       map[string]*upstreamFile{},
		}
	}
	return s, nil
}

// openCache opens (or makes) the fall-through cache, a store of its own,
// and removes temporary files that a killed server left behind.
func (s *Server) openCache(dir string) error {
	st, err := wheelhouse.Create(dir)
	var inconsistent *wheelhouse.InconsistentError
	if err != nil && !errors.As(err, &inconsistent) {
		return fmt.Errorf("opening the fall-through cache: %w", err)
	}
	// The cache is written for the server's whole life: it registers as a
	// writer of that store, as a fetch does, so that gc waits for it and a
	// fetch into the same folder never takes its temporary files for a
	// dead writer's (the first writer removes those).
	ctx, cancel := context.WithTimeout(context.Background(), cacheLockWait)
	defer cancel()
	release, err := st.BeginWrite(ctx)
	if err != nil {
		return fmt.Errorf("opening the fall-through cache: %w", err)
	}
	s.releaseCache = release
	s.cache = st
	s.cached = loadCatalog(st, true, s.log)
	// Sidecars of wheels the cache never kept (earlier servers wrote them
	// when pip read the metadata alone): verify would report each.
	if sidecars, err := filepath.Glob(filepath.Join(dir, wheelhouse.FilesDir, "*.metadata")); err == nil {
		for _, p := range sidecars {
			if _, ok := st.Lookup(strings.TrimSuffix(filepath.Base(p), ".metadata")); !ok {
				os.Remove(p)
			}
		}
	}
	return nil
}

// cacheLockWait bounds how long opening the cache waits for a gc of it.
const cacheLockWait = 10 * time.Second

// Open opens the wheelhouse and builds a server as cfg says, with further
// options after those cfg implies. A wheelhouse whose manifest does not
// match its folder is served anyway, without the files that are missing;
// the mismatch is logged.
func Open(cfg Config, log *slog.Logger, extra ...Option) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st, err := wheelhouse.Open(cfg.Wheelhouse)
	var inconsistent *wheelhouse.InconsistentError
	switch {
	case errors.As(err, &inconsistent):
		log.Warn("serving a wheelhouse that does not match its manifest", "err", err)
	case err != nil:
		return nil, err
	}
	opts, err := cfg.Options(log)
	if err != nil {
		return nil, err
	}
	return New(st, append(opts, extra...)...)
}

// Listen listens on a TCP address.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	return ln, nil
}

// Serve answers on ln until ctx ends, then shuts down gracefully: new
// connections are refused and requests in flight get shutdownGrace to
// finish. It returns nil after a graceful shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	var h http.Handler = s
	if s.o.accessLog {
		h = accessLog(s.log, s)
	}
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    maxHeaderBytes,
		// "OPTIONS *" goes to ServeHTTP, which refuses it like every
		// method but GET and HEAD.
		DisableGeneralOptionsHandler: true,
		ErrorLog:                     slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
	}
	s.guard.listening(ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		s.Close()
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err := hs.Shutdown(sctx)
	<-errc
	s.Close()
	if err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}

// connKey keys a request's connection in its context.
type connKey struct{}

// Close stops requests to the upstream in flight.
func (s *Server) Close() {
	s.cancel()
	s.closeOnce.Do(func() {
		if s.releaseCache != nil {
			s.releaseCache()
		}
	})
	if s.up != nil {
		s.up.client.CloseIdleConnections()
	}
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{
		UpstreamRequests: c.upstreamRequests.Load(), UpstreamFailures: c.upstreamFailures.Load(), UpstreamSkipped: c.upstreamSkipped.Load(),
		PagesFetched: c.pagesFetched.Load(), PagesRevalidated: c.pagesRevalidated.Load(), PagesCached: c.pagesCached.Load(),
		FilesProxied: c.filesProxied.Load(), FilesCached: c.filesCached.Load(), HashMismatches: c.hashMismatches.Load(),
		Refused: c.refused.Load(),
	}
}

// isPrivate reports whether a project must never fall through.
func (s *Server) isPrivate(norm string) bool {
	return s.baked.private[norm] || s.private.match(norm)
}

// ServeHTTP routes a request. Only GET and HEAD are answered.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Opaque != "" {
		http.Error(w, "bad request path", http.StatusBadRequest)
		return
	}
	if s.guard.looped(r) {
		// One of our own upstream requests came back, through a proxy or
		// a name we did not know for ourselves: answering it would recurse.
		s.stats.refused.Add(1)
		s.log.Error("refusing a request this server sent itself (an upstream page names this server)", "path", r.URL.EscapedPath())
		http.Error(w, "loop detected: this request came from this server", http.StatusLoopDetected)
		return
	}
	segs, perr := splitPath(r.URL.EscapedPath())
	switch perr {
	case pathTooLong:
		http.Error(w, "request path too long", http.StatusRequestURITooLong)
		return
	case pathMalformed:
		http.Error(w, "bad request path", http.StatusBadRequest)
		return
	}
	w.Header()["X-Content-Type-Options"] = hdrNosniff
	switch {
	case len(segs) == 1 && segs[0] == "":
		s.serveOverview(w, r)
	case segs[0] == "simple" && len(segs) == 1:
		http.Redirect(w, r, "/simple/", http.StatusMovedPermanently)
	case segs[0] == "simple" && len(segs) == 2 && segs[1] == "":
		s.serveRoot(w, r)
	case segs[0] == "simple" && (len(segs) == 2 || len(segs) == 3 && segs[2] == ""):
		norm := normalize(segs[1])
		if !validProjectName(norm) {
			http.NotFound(w, r)
			return
		}
		if norm != segs[1] || len(segs) == 2 {
			http.Redirect(w, r, "/simple/"+norm+"/", http.StatusMovedPermanently)
			return
		}
		s.serveProject(w, r, norm)
	case segs[0] == "files" && len(segs) == 2:
		s.serveFile(w, r, segs[1])
	case segs[0] == "-" && len(segs) == 2 && segs[1] == "healthz":
		s.serveHealth(w, r)
	default:
		http.NotFound(w, r)
	}
}

// Header values shared by every response that carries them; http.Header
// values are never modified in place, so sharing them is safe.
var (
	hdrVaryAccept  = []string{"Accept"}
	hdrRevalidate  = []string{"max-age=0, must-revalidate"}
	hdrNosniff     = []string{"nosniff"}
	hdrContentType = map[format][]string{
		formatJSON:     {formatJSON.contentType()},
		formatHTML:     {formatHTML.contentType()},
		formatTextHTML: {formatTextHTML.contentType()},
	}
)

// writePage answers with one form of a page, or 304 when the client has it;
// a page not kept whole is written from its listing l.
func writePage(w http.ResponseWriter, r *http.Request, f format, p *page, l *listing) {
	body, tag, tagHdr, lenHdr := p.html, p.htmlTag, p.htmlTagHdr, p.htmlLenHdr
	if f == formatJSON {
		body, tag, tagHdr, lenHdr = p.json, p.jsonTag, p.jsonTagHdr, p.jsonLenHdr
	}
	h := w.Header()
	h["Vary"] = hdrVaryAccept
	h["Etag"] = tagHdr
	// Pages change when the upstream publishes; clients revalidate, which
	// the ETag makes cheap.
	h["Cache-Control"] = hdrRevalidate
	h["Content-Type"] = hdrContentType[f]
	if etagMatch(r.Header.Get("If-None-Match"), tag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h["Content-Length"] = lenHdr
	w.WriteHeader(http.StatusOK)
	switch {
	case r.Method == http.MethodHead:
	case p.kept:
		w.Write(body)
	default:
		writeProject(w, f, l)
	}
}

// etagMatch applies If-None-Match's weak comparison.
func etagMatch(header, tag string) bool {
	if header == "" {
		return false
	}
	for c := range strings.SplitSeq(header, ",") {
		c = strings.TrimSpace(c)
		if c == "*" || strings.TrimPrefix(c, "W/") == tag {
			return true
		}
	}
	return false
}

func acceptable(w http.ResponseWriter, r *http.Request) format {
	f := negotiate(r.Header.Get("Accept"))
	if f == formatNone {
		w.Header().Set("Vary", "Accept")
		http.Error(w, "not acceptable: this index serves "+mediaJSON+", "+mediaHTML+" and "+mediaTextHTML, http.StatusNotAcceptable)
	}
	return f
}

func (s *Server) serveRoot(w http.ResponseWriter, r *http.Request) {
	f := acceptable(w, r)
	if f == formatNone {
		return
	}
	gen := s.cacheGen.Load()
	s.rootMu.Lock()
	c := s.root
	if c == nil || c.gen != gen {
		names := map[string]bool{}
		for n := range s.baked.projects {
			names[n] = true
		}
		s.cacheMu.RLock()
		for n := range s.cached.projects {
			if !s.isPrivate(n) {
				names[n] = true
			}
		}
		s.cacheMu.RUnlock()
		sorted := make([]string, 0, len(names))
		for n := range names {
			sorted = append(sorted, n)
		}
		sort.Strings(sorted)
		c = &cachedPage{gen: gen, p: renderRoot(sorted)}
		s.root = c
	}
	s.rootMu.Unlock()
	writePage(w, r, f, c.p, nil)
}

// localFiles returns a project's local files: baked ones, then (for a
// public project) fetched-through ones of other names.
func (s *Server) localFiles(norm string, private bool) ([]*localFile, uint64) {
	files := s.baked.projects[norm]
	s.cacheMu.RLock()
	defer s.cacheMu.RUnlock()
	gen := s.cacheGen.Load()
	if private {
		return files, gen
	}
	out := files
	for _, lf := range s.cached.projects[norm] {
		if _, baked := s.baked.files[lf.entry.Filename]; !baked {
			out = append(out[:len(out):len(out)], lf)
		}
	}
	return out, gen
}

func (s *Server) serveProject(w http.ResponseWriter, r *http.Request, norm string) {
	f := acceptable(w, r)
	if f == formatNone {
		return
	}
	private := s.isPrivate(norm)
	local, gen := s.localFiles(norm, private)
	var up *upstreamPage
	if !private && s.up != nil {
		p, err := s.up.page(r.Context(), norm)
		var unreachable *unreachableError
		switch {
		case r.Context().Err() != nil:
			return
		case err == nil && p.found:
			up = p
		case errors.As(err, &unreachable) && len(local) == 0:
			s.log.Warn("project not in the wheelhouse and the upstream is unreachable", "project", norm, "upstream", s.up.base, "err", err)
		case err != nil && len(local) == 0:
			s.log.Warn("project not in the wheelhouse and the upstream failed", "project", norm, "upstream", s.up.base, "err", err)
		case err != nil:
			s.log.Debug("serving local files only", "project", norm, "err", err)
		}
	}
	if len(local) == 0 && up == nil {
		http.Error(w, "project "+norm+" not found", http.StatusNotFound)
		return
	}
	l := newListing(norm, local, up)
	writePage(w, r, f, s.renderedProject(l, gen), l)
}

// newListing lists a project's local files and upstream page.
func newListing(norm string, local []*localFile, up *upstreamPage) *listing {
	l := &listing{name: norm, up: up, rows: make([]row, 0, len(local)), versions: make([]string, 0, len(local))}
	for _, lf := range local {
		l.rows = append(l.rows, lf.row())
		l.versions = append(l.versions, lf.entry.Version)
	}
	slices.SortFunc(l.rows, func(a, b row) int { return strings.Compare(a.filename, b.filename) })
	l.versions = sortVersions(l.versions)
	return l
}

// renderedProject renders a project's page, or reuses the rendering made
// from the same local files and upstream page.
func (s *Server) renderedProject(l *listing, gen uint64) *page {
	var upID uint64
	if l.up != nil {
		upID = l.up.id
	}
	s.pagesMu.Lock()
	c := s.pages[l.name]
	s.pagesMu.Unlock()
	if c != nil && c.gen == gen && c.upID == upID {
		return c.p
	}
	c = &cachedPage{gen: gen, upID: upID, p: renderProject(l, keptPageBytes)}
	size := int64(len(c.p.html)+len(c.p.json)) + pageOverhead
	s.pagesMu.Lock()
	if old := s.pages[l.name]; old != nil {
		s.pagesBytes -= int64(len(old.p.html)+len(old.p.json)) + pageOverhead
	}
	if len(s.pages) > 2*maxPages || s.pagesBytes+size > renderedCacheBytes {
		clear(s.pages)
		s.pagesBytes = 0
	}
	s.pages[l.name] = c
	s.pagesBytes += size
	s.pagesMu.Unlock()
	return c.p
}

// lookupLocal returns the local file of a name: baked, or fetched through
// for a project that is not private.
func (s *Server) lookupLocal(name string) *localFile {
	if lf := s.baked.files[name]; lf != nil {
		return lf
	}
	s.cacheMu.RLock()
	lf := s.cached.files[name]
	s.cacheMu.RUnlock()
	if lf != nil && !s.isPrivate(lf.project) {
		return lf
	}
	return nil
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, name string) {
	base, isMeta := strings.CutSuffix(name, ".metadata")
	if !wheelhouse.ValidFilename(base) {
		http.NotFound(w, r)
		return
	}
	if lf := s.lookupLocal(base); lf != nil {
		s.serveLocal(w, r, lf, isMeta)
		return
	}
	if s.up != nil {
		if uf := s.up.lookup(base); uf != nil && !s.isPrivate(uf.project) {
			if isMeta {
				s.proxyMetadata(w, r, uf)
			} else {
				s.proxyFile(w, r, uf)
			}
			return
		}
	}
	http.NotFound(w, r)
}

const immutable = "public, max-age=31536000, immutable"

// serveLocal serves a file of a store through http.ServeContent: Range,
// conditional requests and sendfile.
func (s *Server) serveLocal(w http.ResponseWriter, r *http.Request, lf *localFile, meta bool) {
	p, tag, ctype := lf.path, lf.entry.SHA256, "application/octet-stream"
	if meta {
		if lf.metaPath == "" {
			http.NotFound(w, r)
			return
		}
		p, tag, ctype = lf.metaPath, lf.metaSHA, "text/plain; charset=utf-8"
	}
	f, fi, err := openRegular(p)
	switch {
	case isLink(err):
		s.log.Error("a wheelhouse file is a link or not a regular file; not serving it", "file", p, "err", err)
		http.Error(w, "file changed on disk", http.StatusInternalServerError)
		return
	case err != nil:
		s.log.Warn("a wheelhouse file vanished", "file", p, "err", err)
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	if !meta && fi.Size() != lf.entry.Size {
		s.log.Error("a wheelhouse file changed under the server; not serving it", "file", p, "size", fi.Size(), "manifest_size", lf.entry.Size)
		http.Error(w, "file changed on disk", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("ETag", `"`+tag+`"`)
	h.Set("Cache-Control", immutable)
	h.Set("Content-Type", ctype)
	if r.Method == http.MethodGet && !conditional(r) {
		// The common case, a whole file: straight to sendfile, without
		// the seeks ServeContent makes to learn a size we know.
		h.Set("Accept-Ranges", "bytes")
		h.Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
		if c, ok := r.Context().Value(connKey{}).(net.Conn); ok {
			defer cork(c)()
		}
		w.WriteHeader(http.StatusOK)
		io.CopyN(w, f, fi.Size())
		return
	}
	http.ServeContent(w, r, "", time.Time{}, f)
}

// conditional reports whether a request asks for part of a file or sets a
// precondition, which http.ServeContent handles.
func conditional(r *http.Request) bool {
	for _, k := range []string{"Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range"} {
		if _, ok := r.Header[k]; ok {
			return true
		}
	}
	return false
}

// Health is what /-/healthz answers.
type Health struct {
	OK       bool   `json:"ok"`
	Server   string `json:"server"` // always "larder-index": exec mode finds a running server by it
	Version  string `json:"version"`
	Files    int    `json:"files"`
	Projects int    `json:"projects"`
	// Cached counts the verified fall-through files kept.
	Cached   int            `json:"cached_files"`
	Upstream UpstreamHealth `json:"upstream"`
	Stats    Stats          `json:"stats"`
}

// UpstreamHealth is the upstream's state: "offline" (never contacted),
// "unknown" (not contacted yet), "ok", or "unreachable" (the breaker is
// open; RetryIn says when it is tried again).
type UpstreamHealth struct {
	URL       string `json:"url,omitempty"`
	State     string `json:"state"`
	RetryIn   string `json:"retry_in,omitempty"`
	LastError string `json:"last_error,omitempty"`
}

// Health reports the server's state.
func (s *Server) Health() Health {
	s.cacheMu.RLock()
	cached := len(s.cached.files)
	s.cacheMu.RUnlock()
	h := Health{OK: true, Server: "larder-index", Version: s.o.version, Files: len(s.baked.files), Projects: len(s.baked.projects), Cached: cached, Stats: s.Stats()}
	switch {
	case s.up == nil:
		h.Upstream = UpstreamHealth{URL: s.o.upstream, State: "offline"}
	default:
		st := s.up.br.state(s.o.now())
		h.Upstream = UpstreamHealth{URL: s.up.base, State: "ok", LastError: st.lastError}
		switch {
		case st.open:
			h.Upstream.State = "unreachable"
			if st.retryIn > 0 {
				h.Upstream.RetryIn = st.retryIn.Round(time.Second).String()
			}
		case !st.everOK:
			h.Upstream.State = "unknown"
		}
	}
	return h
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	b, _ := json.MarshalIndent(s.Health(), "", "  ")
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method != http.MethodHead {
		w.Write(b)
	}
}

func (s *Server) serveOverview(w http.ResponseWriter, r *http.Request) {
	byProject := map[string]*overviewProject{}
	files, total := 0, int64(0)
	addFile := func(lf *localFile) {
		p := byProject[lf.project]
		if p == nil {
			p = &overviewProject{name: lf.project, private: s.isPrivate(lf.project), files: map[string][]overviewFile{}}
			byProject[lf.project] = p
		}
		v := lf.entry.Version
		if _, ok := p.files[v]; !ok {
			p.versions = append(p.versions, v)
		}
		of := overviewFile{filename: lf.entry.Filename, size: lf.entry.Size, kind: lf.kind.String()}
		o := lf.entry.Origin
		switch lf.kind {
		case kindFork:
			of.detail = strings.TrimSpace(o.URL + " " + shortCommit(o.Commit))
		case kindSdist:
			of.detail = o.Sdist
		}
		if lf.entry.Private && lf.kind != kindFork {
			of.kind += ", private"
		}
		p.files[v] = append(p.files[v], of)
		files++
		total += lf.entry.Size
	}
	for _, fs := range s.baked.projects {
		for _, lf := range fs {
			addFile(lf)
		}
	}
	s.cacheMu.RLock()
	for n, fs := range s.cached.projects {
		if s.isPrivate(n) {
			continue
		}
		for _, lf := range fs {
			if s.baked.files[lf.entry.Filename] == nil {
				addFile(lf)
			}
		}
	}
	s.cacheMu.RUnlock()
	projects := make([]overviewProject, 0, len(byProject))
	for _, p := range byProject {
		p.versions = sortVersions(p.versions)
		projects = append(projects, *p)
	}
	sort.Slice(projects, func(i, j int) bool { return projects[i].name < projects[j].name })
	upstream := "none (offline)"
	if s.up != nil {
		hu := s.Health().Upstream
		upstream = hu.URL + " (" + hu.State + ")"
	}
	body := renderOverview(projects, files, total, upstream)
	h := w.Header()
	tag := etagOf('o', body)
	h.Set("ETag", tag)
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Type", "text/html; charset=utf-8")
	if etagMatch(r.Header.Get("If-None-Match"), tag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return "@" + c[:12]
	}
	if c == "" {
		return ""
	}
	return "@" + c
}

// accessLog logs every request at Info level, keeping the writer's
// io.ReaderFrom so that files still go out through sendfile.
func accessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		lw := &loggingWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", r.Method), slog.String("path", r.URL.EscapedPath()),
				slog.Int("status", lw.status), slog.Int64("bytes", lw.n),
				slog.Duration("duration", time.Since(start)), slog.String("remote", r.RemoteAddr),
				slog.String("user_agent", r.UserAgent()))
		}()
		next.ServeHTTP(lw, r)
	})
}

type loggingWriter struct {
	http.ResponseWriter
	status int
	n      int64
	wrote  bool
}

func (l *loggingWriter) WriteHeader(code int) {
	if !l.wrote {
		l.status, l.wrote = code, true
	}
	l.ResponseWriter.WriteHeader(code)
}

func (l *loggingWriter) Write(b []byte) (int, error) {
	l.wrote = true
	n, err := l.ResponseWriter.Write(b)
	l.n += int64(n)
	return n, err
}

func (l *loggingWriter) ReadFrom(r io.Reader) (int64, error) {
	l.wrote = true
	var n int64
	var err error
	if rf, ok := l.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(struct{ io.Writer }{l.ResponseWriter}, r)
	}
	l.n += n
	return n, err
}

func (l *loggingWriter) Flush() {
	if f, ok := l.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (l *loggingWriter) Unwrap() http.ResponseWriter { return l.ResponseWriter }
