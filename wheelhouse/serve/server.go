package serve

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/larder-build/larder/resolver/distname"
	"github.com/larder-build/larder/wheelhouse"
)

// Timeouts and back-off of the upstream, and server limits.
const (
	connectTimeout    = 2 * time.Second
	pageTimeout       = 10 * time.Second
	idleReadTimeout   = 60 * time.Second // a file download that stalls this long is cut
	writeIdleTimeout  = 60 * time.Second // a client that reads nothing of its answer this long is cut (writeWithin)
	backoffMin        = 30 * time.Second
	backoffMax        = 5 * time.Minute
	readHeaderTimeout = 10 * time.Second
	readTimeout       = time.Minute // a request's whole body, uploads excepted
	maxHeaderBytes    = 64 << 10
	shutdownGrace     = 10 * time.Second
	// renderedCacheBytes bounds the rendered project pages kept;
	// keptPageBytes bounds one form of a page kept whole. A larger page
	// keeps only its validators and is written from its listing as it
	// goes out, so that no client holds a copy of it.
	renderedCacheBytes = 4 << 20
	keptPageBytes      = 256 << 10
)

// Server is an index server over a wheelhouse.Store. It is an
// http.Handler and safe for concurrent use.
type Server struct {
	o       options
	log     *slog.Logger
	private distname.Globs
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

	// Uploads: auth is nil without an htpasswd file, uploader nil when
	// uploads are off; checkAuth and serveUploads are set with them (by
	// openWrites, so that only WithHtpasswd links them). uploaded holds
	// the files uploaded since start (under cacheMu); uploadedNames their
	// projects, read by isPrivate without a lock.
	auth          *htpasswd
	uploader      *uploader
	checkAuth     func(*http.Request) (string, authResult)
	serveUploads  http.HandlerFunc
	uploaded      *catalog
	uploadedNames sync.Map

	// shared is the files of WithCache's cache the store lacks, listed
	// at start and again (refreshShared) when a project no catalog knows
	// is asked for; empty without a cache. sharedMu serialises the
	// refreshes, sharedAt is when the last one ended.
	shared        atomic.Pointer[catalog]
	sharedMu      sync.Mutex
	sharedAt      time.Time // when the last list ended
	sharedStarted time.Time // when it started
	sharedFailed  time.Time // when a list last failed
	// keptNames are projects the shared cache said it kept an upload of:
	// private, whatever a list of it gives.
	keptNames sync.Map
	// keptFailed is when (UnixNano) the cache last failed to say whether
	// it kept an upload of a name.
	keptFailed atomic.Int64

	stats   counters
	metrics metrics
	ctx     context.Context
	cancel  context.CancelFunc
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
		log: slog.New(slog.DiscardHandler), maxUpload: DefaultMaxUpload, readTimeout: readTimeout,
		writeIdle: writeIdleTimeout, readIdle: idleReadTimeout, maxConns: [2]int{maxConns, maxClientConns},
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
	s.uploaded = newCatalog()
	s.shared.Store(newCatalog())
	if o.shared != nil {
		s.sharedStarted = time.Now()
		if err := s.loadShared(s.ctx); err != nil {
			return nil, fmt.Errorf("configuring the index server: %w", err)
		}
		s.sharedAt = time.Now()
	}
	if o.readAuth && o.htpasswd == "" {
		return nil, errors.New("configuring the index server: reads can require credentials only with an htpasswd file")
	}
	if o.openWrites != nil {
		if err := o.openWrites(s, store); err != nil {
			return nil, fmt.Errorf("configuring the index server: %w", err)
		}
		s.auth.configure(s.log, &s.o)
	}
	if o.cacheDir != "" {
		if err := s.openCache(o.cacheDir); err != nil {
			s.Close()
			return nil, err
		}
	}
	s.guard = newSelfGuard()
	if !o.offline && o.upstream != "" {
		allowed, err := allowedOrigins(o.upstream, o.fileHosts)
		if err != nil {
			s.Close()
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
			latency:      &s.metrics.upstreamLatency,
			userAgent:    "larder-index/" + o.version,
			ctx:          s.ctx,
			pages:        map[string]*list.Element{},
			flights:      map[string]*pageFlight{},
			listed:       map[string]*upstreamFile{},
			fetches:      clientSlots{size: maxFetchesPerClient},
			downloads:    clientSlots{size: maxDownloadsPerClient},
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
		h = accessLog(s.log, s, s.o.trustedProxies)
	}
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       s.o.readTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    maxHeaderBytes,
		// "OPTIONS *" goes to ServeHTTP, which refuses it like every
		// method but GET and HEAD.
		DisableGeneralOptionsHandler: true,
		ErrorLog:                     slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, unwrapConn(c))
		},
	}
	s.guard.listening(ln.Addr())
	ln = limitConns(ln, s.o.maxConns[0], s.o.maxConns[1], &s.stats.connsRefused)
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
		if s.uploader != nil {
			s.uploader.release()
		}
	})
	if s.up != nil {
		s.up.client.CloseIdleConnections()
	}
}

// isPrivate reports whether a project must never fall through.
func (s *Server) isPrivate(norm string) bool {
	if _, up := s.uploadedNames.Load(norm); up {
		return true
	}
	if _, kept := s.keptNames.Load(norm); kept {
		return true
	}
	return s.baked.private[norm] || s.shared.Load().private[norm] || s.private.Match(norm)
}
