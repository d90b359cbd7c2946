package index

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/larder-build/larder/internal/flight"
	"github.com/larder-build/larder/internal/readlimit"
	"github.com/larder-build/larder/internal/watchdog"
	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/distname"
	"github.com/larder-build/larder/resolver/simple"
)

// maxPageSize bounds how much of an index page is read: the largest
// projects on PyPI list tens of thousands of files in a few megabytes.
const maxPageSize = 64 << 20

// Client reads project pages and metadata from one or more indexes.
// It is safe for concurrent use.
type Client struct {
	indexes []string
	pins    map[string]string // normalized name -> index URL
	private distname.Globs    // names never looked up on a public index
	public  func(indexURL string) bool
	http    *http.Client
	cache   *cache
	sem     chan struct{}
	retries int
	backoff time.Duration
	stall   time.Duration // a request that receives nothing this long is cut (and retried)
	offline bool
	twin    bool // made by CachedOnly: keeps the pages it parses for its client

	sdistBuilder func(ctx context.Context, sdistPath string) ([]byte, error)

	// group fetches each page once for the callers that want it at
	// once; a caller that gives up leaves the fetch to the others.
	group flight.Group[string, *Page]
	mu    sync.Mutex
	pages map[string]*Page // page URL -> parsed page, for this client's lifetime
	// failed has the pages whose fetch failed after its retries, for
	// this client's lifetime: a lock asks each project's page for every
	// target and warm-up, and a down index would otherwise cost the
	// retries' waits again each time.
	failed map[string]error
	// opened has, for each https host asked, a channel closed once the
	// first request to it has its connection (firstConn).
	opened map[string]chan struct{}

	stats counters

	// testHookPageMissed, set by tests only, runs in page between the
	// look-up that found no page and the joining of its flight.
	testHookPageMissed func(pageURL string)
}

// Option configures a Client.
type Option func(*Client) error

// WithCacheDir keeps the HTTP and metadata cache in dir; "" disables it.
func WithCacheDir(dir string) Option {
	return func(c *Client) error {
		if dir == "" {
			c.cache = nil
		} else {
			c.cache = newCache(dir)
		}
		return nil
	}
}

// DefaultParallel is how many requests a client has in flight at most
// unless WithParallel says otherwise: uv's default for its downloads and
// for the pages and metadata its resolver fetches. A resolution waits on
// chains of requests, so the more in flight, the sooner each link is
// asked; over HTTP/2 they share one connection.
const DefaultParallel = 50

// WithParallel bounds the requests in flight at once (DefaultParallel
// without it).
func WithParallel(n int) Option {
	return func(c *Client) error {
		if n < 1 {
			return fmt.Errorf("parallel requests must be at least 1, not %d", n)
		}
		c.sem = make(chan struct{}, n)
		return nil
	}
}

// CachedOnly returns a client that answers from this one's cache alone:
// every page the cache has, whatever its age (as WithOffline does), and
// an error for the rest. It shares the cache and the settings, not the
// pages read nor the counters.
func (c *Client) CachedOnly() *Client {
	return &Client{indexes: c.indexes, pins: c.pins, private: c.private, public: c.public, http: c.http, cache: c.cache,
		sem: c.sem, retries: c.retries, backoff: c.backoff, stall: c.stall, offline: true, twin: true, sdistBuilder: c.sdistBuilder,
		pages: map[string]*Page{}, failed: map[string]error{}, opened: map[string]chan struct{}{}}
}

// Parallel reports how many requests the client has in flight at most,
// so that callers queue work for it instead of piling up goroutines.
func (c *Client) Parallel() int { return cap(c.sem) }

// DefaultRetries and DefaultBackoff are how often a failed request is
// retried and the first wait before it (doubled each time): 4 retries
// wait 3 s in all, as pip's own do.
const (
	DefaultRetries = 4
	DefaultBackoff = 200 * time.Millisecond
	maxBackoff     = time.Minute
)

// WithRetries sets how many times a request is retried after a 5xx, a 429
// or a network error, and the first back-off delay (doubled each time).
func WithRetries(n int, backoff time.Duration) Option {
	return func(c *Client) error {
		if n < 0 {
			return fmt.Errorf("retries must not be negative, not %d", n)
		}
		c.retries, c.backoff = n, backoff
		return nil
	}
}

// WithProjectIndex pins a project to one index: it is looked up there and
// nowhere else.
func WithProjectIndex(project, indexURL string) Option {
	return func(c *Client) error {
		u, err := checkIndexURL(indexURL)
		if err != nil {
			return err
		}
		c.pins[dist.NormalizeName(project)] = u
		return nil
	}
}

// WithPrivate names the projects (name globs, as distname.CompileGlobs
// reads them) that are never looked up on a public index (PyPI): a
// project WithProjectIndex does not pin is looked up on the other
// indexes only, and refused with a *PrivateError when there are none.
// Otherwise whoever registers the name on PyPI would supply it.
func WithPrivate(globs []string) Option {
	return func(c *Client) error {
		g, err := distname.CompileGlobs(globs)
		if err != nil {
			return fmt.Errorf("private names: %w", err)
		}
		c.private = g
		return nil
	}
}

// withPublic says which indexes are public (a test's stand-in for PyPI).
func withPublic(public func(indexURL string) bool) Option {
	return func(c *Client) error { c.public = public; return nil }
}

// IsPublic reports whether an index URL is PyPI's (or TestPyPI's), where
// anyone may register a name.
func IsPublic(indexURL string) bool {
	u, err := url.Parse(indexURL)
	if err != nil {
		return false
	}
	switch strings.ToLower(strings.TrimSuffix(u.Hostname(), ".")) {
	case "pypi.org", "www.pypi.org", "test.pypi.org", "pypi.python.org", "files.pythonhosted.org":
		return true
	}
	return false
}

// PrivateError is a private project (WithPrivate) that only public
// indexes could supply.
type PrivateError struct {
	Name    string
	Indexes []string // the public indexes it was not looked up on
}

// Error names the project and the public indexes it was not looked up on.
func (e *PrivateError) Error() string {
	return fmt.Sprintf("project %s is private (it matches a private name glob) and is never looked up on a public index, but the only indexes are public: %s", e.Name, strings.Join(e.Indexes, ", "))
}

// WithOffline answers from the cache only and never touches the network.
func WithOffline(offline bool) Option {
	return func(c *Client) error { c.offline = offline; return nil }
}

// WithSdistMetadata sets how the core metadata of an sdist whose metadata
// is not static is obtained: fn gets the path of the downloaded, verified
// sdist and returns METADATA (e.g. through the PEP 517 hook).
func WithSdistMetadata(fn func(ctx context.Context, sdistPath string) ([]byte, error)) Option {
	return func(c *Client) error { c.sdistBuilder = fn; return nil }
}

// New returns a client for the given indexes, in priority order: the
// first index that has a project serves all of it. Indexes are never
// merged for one project, because that is how dependency confusion
// happens.
func New(indexes []string, opts ...Option) (*Client, error) {
	if len(indexes) == 0 {
		return nil, errors.New("no index URL given")
	}
	c := &Client{
		pins:    map[string]string{},
		public:  IsPublic,
		cache:   newCache(DefaultCacheDir()),
		sem:     make(chan struct{}, DefaultParallel),
		retries: DefaultRetries,
		backoff: DefaultBackoff,
		stall:   DefaultStall,
		pages:   map[string]*Page{},
		failed:  map[string]error{},
		opened:  map[string]chan struct{}{},
	}
	for _, ix := range indexes {
		u, err := checkIndexURL(ix)
		if err != nil {
			return nil, err
		}
		c.indexes = append(c.indexes, u)
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.http == nil {
		c.http = defaultHTTPClient(cap(c.sem))
	}
	return c, nil
}

func checkIndexURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("index URL %q: want http:// or https:// with a host", simple.RedactURL(s))
	}
	return strings.TrimSuffix(u.String(), "/") + "/", nil
}

func defaultHTTPClient(parallel int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = parallel
	t.MaxConnsPerHost = parallel
	t.ForceAttemptHTTP2 = true
	t.ResponseHeaderTimeout = 30 * time.Second
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	return &http.Client{Transport: t, CheckRedirect: checkRedirect}
}

// maxRedirects bounds the redirects one request follows (as Go's
// default does).
const maxRedirects = 10

// checkRedirect follows redirects to any host (PyPI's files are on
// another), but never from https to plain http: a page's hashes are what
// every file is checked against, and over plain http anyone on the path
// could rewrite them.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return &redirectError{fmt.Sprintf("stopped after %d redirects", maxRedirects)}
	}
	if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return &redirectError{fmt.Sprintf("refusing the redirect to %s: not https", req.URL.Redacted())}
	}
	return nil
}

// redirectError is a redirect checkRedirect refused: final, not retried.
type redirectError struct{ msg string }

func (e *redirectError) Error() string { return e.msg }

// Indexes returns the index URLs in priority order.
func (c *Client) Indexes() []string { return append([]string(nil), c.indexes...) }

// redacted returns index URLs with their passwords hidden, for errors.
func redacted(urls []string) []string {
	out := make([]string, len(urls))
	for i, u := range urls {
		out[i] = simple.RedactURL(u)
	}
	return out
}

// NotFoundError reports a project that no index has.
type NotFoundError struct {
	Name    string
	Indexes []string
	// Suggestions are close names the index does have, when known.
	Suggestions []string
}

func (e *NotFoundError) Error() string {
	msg := fmt.Sprintf("no project %q on %s", e.Name, strings.Join(e.Indexes, ", "))
	if len(e.Suggestions) > 0 {
		msg += " (did you mean " + strings.Join(e.Suggestions, ", ") + "?)"
	}
	return msg
}

// ProjectNames returns the names of every project on the first index, from
// its root page (cached like any page). It serves "did you mean".
func (c *Client) ProjectNames(ctx context.Context) ([]string, error) {
	e, err := c.get(ctx, c.indexes[0])
	if err != nil {
		return nil, err
	}
	return parseProjectList(e.ContentType, e.Body)
}

// StatusError is an unexpected HTTP status.
type StatusError struct {
	URL    string
	Status string
	Code   int
}

func (e *StatusError) Error() string { return fmt.Sprintf("GET %s: %s", e.URL, e.Status) }

// Project returns the listing of a project from the first index that has
// it (or the index it is pinned to).
func (c *Client) Project(ctx context.Context, name string) (*Page, error) {
	norm := dist.NormalizeName(name)
	if !dist.ValidName(name) {
		return nil, fmt.Errorf("project name %q is not valid", name)
	}
	indexes := c.indexes
	if ix, ok := c.pins[norm]; ok {
		indexes = []string{ix}
	} else if c.private.Match(norm) {
		indexes = slices.DeleteFunc(slices.Clone(indexes), c.public)
		if len(indexes) == 0 {
			return nil, &PrivateError{Name: name, Indexes: redacted(c.indexes)}
		}
	}
	for _, ix := range indexes {
		p, err := c.page(ctx, ix, norm)
		var nf *NotFoundError
		if errors.As(err, &nf) {
			continue
		}
		// Any other failure stops the search: falling through to the
		// next index while the first is down would hand the name to
		// whoever registers it there.
		return p, err
	}
	return nil, &NotFoundError{Name: name, Indexes: redacted(indexes)}
}

func (c *Client) page(ctx context.Context, indexURL, norm string) (*Page, error) {
	pageURL := indexURL + norm + "/"
	c.mu.Lock()
	p, ok := c.pages[pageURL]
	failed := c.failed[pageURL]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	if failed != nil {
		return nil, failed
	}
	if c.testHookPageMissed != nil {
		c.testHookPageMissed(pageURL)
	}
	// The fetch runs under the flight's context, not this caller's: it
	// is bounded by the stall watchdog and the retries, and ends when
	// every caller waiting for it has given up.
	return c.group.Do(ctx, pageURL, func(ctx context.Context) (*Page, error) {
		// A caller that found no page above may arrive here after the
		// flight that fetched it has ended: it takes that page (or that
		// failure) rather than asking the index again.
		c.mu.Lock()
		p, ok := c.pages[pageURL]
		failed := c.failed[pageURL]
		c.mu.Unlock()
		if ok || failed != nil {
			return p, failed
		}
		p, err := c.fetchPage(ctx, pageURL)
		if err != nil {
			if ctx.Err() == nil {
				c.mu.Lock()
				c.failed[pageURL] = err
				c.mu.Unlock()
			}
			return nil, err
		}
		p.Index = indexURL
		c.mu.Lock()
		c.pages[pageURL] = p
		c.mu.Unlock()
		return p, nil
	})
}

func (c *Client) fetchPage(ctx context.Context, pageURL string) (*Page, error) {
	e, err := c.get(ctx, pageURL)
	if err != nil {
		return nil, err
	}
	return c.cache.parsePage(e, c.twin)
}

// get returns a page through the on-disk cache: a fresh entry (or any
// entry when offline) as it is, otherwise a conditional request that a
// 304 answers from the entry. A 404 is a *NotFoundError.
func (c *Client) get(ctx context.Context, pageURL string) (*entry, error) {
	cached, have := c.cache.getPage(pageURL)
	if have && (cached.fresh(time.Now()) || c.offline) {
		c.stats.pageHits.Add(1)
		return cached, nil
	}
	if c.offline {
		return nil, fmt.Errorf("offline: %s is not in the cache", simple.RedactURL(pageURL))
	}
	hdr := http.Header{"Accept": {acceptHeader}}
	if have {
		if cached.ETag != "" {
			hdr.Set("If-None-Match", cached.ETag)
		}
		if cached.LastModified != "" {
			hdr.Set("If-Modified-Since", cached.LastModified)
		}
	}
	var e *entry
	var store, unchanged bool
	err := c.do(ctx, pageURL, hdr, func(resp *http.Response) error {
		var maxAge int
		maxAge, store = cacheControl(resp.Header)
		switch {
		case resp.StatusCode == http.StatusNotModified && have:
			c.stats.revalidated.Add(1)
			// Confirmed again but no fresher than before: a page never
			// fresh (no max-age) need not be written again.
			unchanged = maxAge <= 0 && cached.MaxAge <= 0
			e = cached
		case resp.StatusCode == http.StatusNotFound:
			return &NotFoundError{Name: simple.RedactURL(pageURL)}
		case resp.StatusCode != http.StatusOK:
			return &StatusError{URL: simple.RedactURL(pageURL), Status: resp.Status, Code: resp.StatusCode}
		default:
			body, err := readlimit.ReadAll(resp.Body, maxPageSize)
			if err != nil {
				return fmt.Errorf("reading %s: %w", simple.RedactURL(pageURL), err)
			}
			c.stats.pagesFetched.Add(1)
			e = &entry{URL: pageURL, FinalURL: resp.Request.URL.String(), ContentType: resp.Header.Get("Content-Type"),
				ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"), Body: body}
		}
		e.Stored, e.MaxAge = time.Now(), maxAge
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Written once the request's slot is free: the disk is no reason to
	// hold back the next request.
	if store && !unchanged {
		// A cache write failure costs a refetch next time, nothing more.
		_ = c.cache.putPage(pageURL, e)
	}
	return e, nil
}

// do sends a GET with retries and hands a successful exchange to fn. The
// response body is closed afterwards. fn's error is final unless it is a
// network error while reading the body, which is retried.
func (c *Client) do(ctx context.Context, u string, hdr http.Header, fn func(*http.Response) error) error {
	var last error
	for attempt := 0; attempt <= c.retries; attempt++ {
		if attempt > 0 {
			// Doubled each time up to a minute, as pip's back-off tops
			// out: --retries 20 must not wait a day.
			d := c.backoff << min(attempt-1, 16)
			d = min(d, maxBackoff)
			d += time.Duration(rand.Int64N(int64(d)/4 + 1))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
			}
			c.stats.retries.Add(1)
		}
		err := c.once(ctx, u, hdr, fn)
		if err == nil || !retryable(err) || ctx.Err() != nil {
			return err
		}
		last = err
	}
	return fmt.Errorf("%w (after %d attempts)", last, c.retries+1)
}

func (c *Client) once(ctx context.Context, u string, hdr http.Header, fn func(*http.Response) error) error {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-c.sem }()
	// A server that sends nothing for the stall time, before its headers
	// or within its body, is cut, and so is a body that trickles: a page
	// sent a byte at a time, or a connection accepted and never answered,
	// would hold the lock for ever (the body has no other deadline).
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	wd := watchdog.Start(c.stall, func() { cancel(watchdog.ErrStalled) })
	defer wd.Stop()
	stalled := func(err error) error {
		if errors.Is(context.Cause(sctx), watchdog.ErrStalled) && ctx.Err() == nil {
			return &netError{fmt.Errorf("GET %s: %w", simple.RedactURL(u), watchdog.ErrStalled)}
		}
		return err
	}
	req, err := http.NewRequestWithContext(sctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", "larder")
	req, opened, err := c.firstConn(req)
	if err != nil {
		return err
	}
	c.stats.requests.Add(1)
	resp, err := c.http.Do(req)
	opened()
	if err != nil {
		if re := (*redirectError)(nil); errors.As(err, &re) {
			return fmt.Errorf("GET %s: %w", simple.RedactURL(u), re)
		}
		return stalled(&netError{err})
	}
	defer resp.Body.Close()
	wd.Begin()
	resp.Body = watchedBody{Reader: wd.Reader(resp.Body), Closer: resp.Body}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return &StatusError{URL: simple.RedactURL(u), Status: resp.Status, Code: resp.StatusCode}
	}
	if err := fn(resp); err != nil {
		if err := stalled(nil); err != nil {
			return err
		}
		var ne *netError
		if !errors.As(err, &ne) && isNetErr(err) {
			return &netError{err}
		}
		return err
	}
	return nil
}

// firstConn has the first request to an https host go alone until it has
// a connection, and the others wait for that: Go's transport dials a
// connection for each request in flight until one is up, so a lock's
// first fifty requests would open fifty TLS connections to an index
// (PyPI) that serves them all over one with HTTP/2. Once the first
// connection is up, a request to an HTTP/2 host shares it and one to an
// HTTP/1.1 host dials its own as before. It returns the request to send
// and what to call once it is sent (whatever the outcome: a first
// request that fails leaves the others to dial their own), or the
// context's error. The others wait at most firstConnWait: a first
// connection stuck in its handshake (a backend that accepts and hangs)
// would otherwise hold every request back for the whole handshake
// timeout, not only its own.
func (c *Client) firstConn(req *http.Request) (*http.Request, func(), error) {
	if req.URL.Scheme != "https" {
		return req, func() {}, nil // no HTTP/2 without TLS
	}
	host := req.URL.Host
	c.mu.Lock()
	ch, asked := c.opened[host]
	if !asked {
		ch = make(chan struct{})
		c.opened[host] = ch
	}
	c.mu.Unlock()
	if asked {
		select {
		case <-ch:
			return req, func() {}, nil // the common case: the first is up
		default:
		}
		wait := time.NewTimer(firstConnWait)
		defer wait.Stop()
		select {
		case <-ch:
		case <-wait.C:
		case <-req.Context().Done():
			return nil, nil, req.Context().Err()
		}
		return req, func() {}, nil
	}
	var once sync.Once
	open := func() { once.Do(func() { close(ch) }) }
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { open() }}
	return req.WithContext(httptrace.WithClientTrace(req.Context(), trace)), open, nil
}

// firstConnWait is how long a request waits for the first connection
// to its host (firstConn) before it dials its own: a TLS handshake takes
// two or three round trips, well under a second to any index but the
// farthest.
const firstConnWait = time.Second

// DefaultStall is how long a request may receive nothing, before its
// headers or within its body, before it is cut and retried.
const DefaultStall = 30 * time.Second

// watchedBody is a response body read through its watchdog.
type watchedBody struct {
	io.Reader
	io.Closer
}

// netError marks a failure of the connection rather than of the content.
type netError struct{ err error }

func (e *netError) Error() string { return e.err.Error() }
func (e *netError) Unwrap() error { return e.err }

func isNetErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code >= 500 || se.Code == http.StatusTooManyRequests
	}
	var ne *netError
	return errors.As(err, &ne)
}

// Stats counts what a client did, for progress lines and tests.
type Stats struct {
	Requests      int64 // HTTP requests sent, retries included
	Retries       int64
	PagesFetched  int64 // pages downloaded (200)
	PageCacheHits int64 // pages answered from a fresh cache entry
	Revalidated   int64 // pages confirmed unchanged by a 304
	MetadataFiles int64 // PEP 658 .metadata files downloaded
	RangeReads    int64 // wheels whose METADATA came through range requests
	FullDownloads int64 // files downloaded whole to read their metadata
	MetadataHits  int64 // metadata answered from the cache
}

type counters struct {
	requests, retries, pagesFetched, pageHits, revalidated atomic.Int64
	metaFiles, rangeReads, fullDownloads, metaHits         atomic.Int64
}

// Stats returns a snapshot of the counters.
func (c *Client) Stats() Stats {
	s := &c.stats
	return Stats{
		Requests: s.requests.Load(), Retries: s.retries.Load(),
		PagesFetched: s.pagesFetched.Load(), PageCacheHits: s.pageHits.Load(), Revalidated: s.revalidated.Load(),
		MetadataFiles: s.metaFiles.Load(), RangeReads: s.rangeReads.Load(), FullDownloads: s.fullDownloads.Load(),
		MetadataHits: s.metaHits.Load(),
	}
}
