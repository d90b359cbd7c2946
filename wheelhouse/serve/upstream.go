package serve

import (
	"container/list"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/larder-build/larder/internal/flight"
	"github.com/larder-build/larder/resolver/distname"
	"github.com/larder-build/larder/resolver/simple"
	"github.com/larder-build/larder/wheelhouse"
)

// upstreamAccept is the Accept header of page requests: JSON preferred,
// HTML understood.
const upstreamAccept = mediaJSON + ", " + mediaHTML + ";q=0.2, " + mediaTextHTML + ";q=0.01"

var errTooLarge = errors.New("too large")

// unreachableError says the upstream was not asked because it failed
// recently.
type unreachableError struct {
	retryIn time.Duration
	last    string
}

func (e *unreachableError) Error() string {
	msg := "upstream unreachable"
	if e.last != "" {
		msg += " (" + e.last + ")"
	}
	if e.retryIn > 0 {
		msg += fmt.Sprintf("; retrying in %s", e.retryIn.Round(time.Second))
	}
	return msg
}

// upstreamFile is one file an upstream page lists.
type upstreamFile struct {
	project        string // normalized
	filename       string
	url            string // absolute, without fragment
	sha256         string // "" when the page gives none
	requiresPython string
	yanked         bool
	yankedReason   string
	meta           bool
	metaSHA        string
	size           int64 // -1 when unknown
	uploadTime     time.Time
}

func (f *upstreamFile) row() row {
	return row{filename: f.filename, sha256: f.sha256, requiresPython: f.requiresPython, yanked: f.yanked,
		yankedReason: f.yankedReason, meta: f.meta, metaSHA: f.metaSHA, size: f.size, uploadTime: f.uploadTime}
}

// upstreamPage is a parsed upstream project page.
type upstreamPage struct {
	// id tells pages apart, and their renderings; a page revalidated
	// keeps its id.
	id           uint64
	found        bool
	files        []*upstreamFile // sorted by file name
	versions     []string
	etag         string
	lastModified string
	fetched      time.Time
	bytes        int64 // estimated memory, for the cache's budget
}

// pageOverhead is the estimated memory of a page with no files, and of a
// cache entry.
const pageOverhead = 256

// fileBytes estimates the memory one listed file keeps: the struct, its
// strings, and its entries in the parser's and the server's maps.
func (f *upstreamFile) bytes() int64 {
	return int64(256 + len(f.filename)*2 + len(f.url) + len(f.sha256) + len(f.requiresPython) + len(f.yankedReason) + len(f.metaSHA))
}

// pageIDs numbers the pages parsed.
var pageIDs atomic.Uint64

// pageFlight is a page fetch under way and, once done is closed, its result.
type pageFlight struct {
	done chan struct{}
	page *upstreamPage
	err  error
}

// upstream is the index the server falls through to: its pages, cached for
// a TTL, the files they list, and the breaker that guards it.
type upstream struct {
	latency     *histogram // time to an upstream answer's headers; nil in unit tests
	base        string     // ends in "/"
	client      *http.Client
	ttl         time.Duration
	pageTimeout time.Duration
	// probeTimeout bounds a probe's wait for an answer (see breaker).
	probeTimeout time.Duration
	br           *breaker
	now          func() time.Time
	log          *slog.Logger
	stats        *counters
	userAgent    string
	ctx          context.Context // ends when the server closes

	// allowed are the origins (scheme://host:port) files and redirects
	// may come from: see allowedOrigins.
	allowed map[string]bool
	via     string // this server's Via header value
	// parses bounds the pages read and parsed at once (maxParses).
	parses chan struct{}

	mu         sync.Mutex
	pages      map[string]*list.Element // of *cachedUpstream, most recently used first
	lru        list.List
	cacheBytes int64
	flights    map[string]*pageFlight
	listed     map[string]*upstreamFile // by file name
	// missing are the names the upstream had no page for: see
	// maxMissing.
	missing missingNames
	// fetches bounds the page fetches each client has under way
	// (maxFetchesPerClient); it has a lock of its own, never taken with
	// mu held.
	fetches clientSlots
	// downloads bounds the fall-through files each client downloads
	// from the upstream at once (maxDownloadsPerClient).
	downloads clientSlots

	// testHookJoined, set by tests only before the server serves, runs
	// each time a caller joins the flight of a page another started.
	testHookJoined func(norm string)
	// testHookAnswered, set by tests only, runs in a flight's goroutine
	// once the upstream has answered a page, before it is read.
	testHookAnswered func(norm string)
}

// cachedUpstream is a page in the upstream's page cache.
type cachedUpstream struct {
	norm string
	page *upstreamPage
	size int64 // the page's estimate, with the entry's overhead
}

// newTransport returns the upstream's transport; control vets every
// address dialled.
func newTransport(connectTimeout, headerTimeout time.Duration, control func(network, address string, c syscall.RawConn) error) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second, Control: control}).DialContext,
		TLSHandshakeTimeout:   connectTimeout + 3*time.Second,
		ResponseHeaderTimeout: headerTimeout,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
}

// page returns the upstream's page of a project: from the cache within the
// TTL, else fetched (or revalidated), one request per project at a time. A
// fetch that client starts takes one of its maxFetchesPerClient slots,
// waiting for one as long as ctx lasts. It returns an *unreachableError
// without asking when the breaker is open.
func (u *upstream) page(ctx context.Context, norm, client string) (*upstreamPage, error) {
	// held is a slot of client's taken for a fetch not started yet; it
	// is the fetch's once started, and given back on every other way out.
	held := false
	defer func() {
		if held {
			u.fetches.release(client)
		}
	}()
	for {
		u.mu.Lock()
		old := u.cached(norm)
		now := u.now()
		if old != nil && now.Sub(old.fetched) < u.ttl {
			u.mu.Unlock()
			u.stats.pagesCached.Add(1)
			return old, nil
		}
		if old == nil && u.missing.has(norm, now) {
			u.mu.Unlock()
			u.stats.pagesCached.Add(1)
			return &upstreamPage{fetched: now}, nil
		}
		f := u.flights[norm]
		joined := f != nil
		if f == nil {
			if !held {
				// Waited for without u.mu; the cache and the flights may
				// have the page once it is taken: asked again.
				u.mu.Unlock()
				if err := u.fetches.acquire(ctx, client); err != nil {
					return nil, err
				}
				held = true
				continue
			}
			ok, probe, wait := u.br.allow(now)
			if !ok {
				u.mu.Unlock()
				u.fetches.release(client) // not held while the probe is waited for
				held = false
				if wait != nil {
					select {
					case <-wait:
						continue
					case <-ctx.Done():
						return nil, ctx.Err()
					}
				}
				u.stats.upstreamSkipped.Add(1)
				st := u.br.state(now)
				return nil, &unreachableError{retryIn: st.retryIn, last: st.lastError}
			}
			f = &pageFlight{done: make(chan struct{})}
			u.flights[norm] = f
			held = false // the fetch's now: run gives it back
			go u.run(f, norm, client, old, probe)
		}
		u.mu.Unlock()
		if held { // another's fetch was started while this one waited
			u.fetches.release(client)
			held = false
		}
		if joined && u.testHookJoined != nil {
			u.testHookJoined(norm)
		}
		select {
		case <-f.done:
			return f.page, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// run fetches a page for the callers of f, with one of client's fetch
// slots, which it gives back once the fetch ends. A panic in the fetch (a
// bug an upstream's answer tripped) is recovered by flight.Recover, as
// net/http's own recovery of handlers does not reach this goroutine and it
// would end the server: every caller gets an error, the stack is logged
// once, and a probe the fetch held is let go.
func (u *upstream) run(f *pageFlight, norm, client string, old *upstreamPage, probe bool) {
	f.page, f.err = flight.Recover(u.log, norm, func() (*upstreamPage, error) { return u.fetch(norm, old, probe) })
	var pe *flight.PanicError
	if errors.As(f.err, &pe) {
		f.page, f.err = nil, fmt.Errorf("fetching upstream page of %s: %w", norm, pe)
		if probe {
			u.br.done()
		}
	}
	u.mu.Lock()
	delete(u.flights, norm)
	switch {
	case f.page != nil && f.page.found:
		u.store(norm, f.page)
	case f.page != nil:
		// No page: remembered apart from the pages, in bounded memory.
		if el := u.pages[norm]; el != nil {
			u.evict(el)
		}
		u.missing.add(norm, f.page.fetched.Add(u.ttl))
	}
	u.mu.Unlock()
	u.fetches.release(client)
	close(f.done)
}

// missingNames remembers, for a TTL each, the names the upstream had no
// page for: at most maxMissing, the oldest forgotten first (every name is
// kept for one TTL, so the oldest is also the first to expire). A name is
// kept as a 16-byte prefix of its sha256, whatever its length. The zero
// value is ready for use; its user holds the lock.
type missingNames struct {
	until map[[16]byte]int64 // Unix nanoseconds
	ring  []missingName      // in the order added, the oldest at head once full
	head  int
}

type missingName struct {
	key   [16]byte
	until int64
}

func missingKey(norm string) (k [16]byte) {
	sum := sha256.Sum256([]byte(norm))
	copy(k[:], sum[:])
	return k
}

// has reports whether norm is remembered missing at now.
func (m *missingNames) has(norm string, now time.Time) bool {
	until, ok := m.until[missingKey(norm)]
	return ok && now.UnixNano() < until
}

// add remembers norm missing until then, forgetting the oldest name
// added when maxMissing are.
func (m *missingNames) add(norm string, until time.Time) {
	e := missingName{key: missingKey(norm), until: until.UnixNano()}
	if m.until == nil {
		m.until = map[[16]byte]int64{}
	}
	if len(m.ring) < maxMissing {
		m.ring = append(m.ring, e)
	} else {
		// A name added again since has a later time: kept.
		if old := m.ring[m.head]; m.until[old.key] == old.until {
			delete(m.until, old.key)
		}
		m.ring[m.head] = e
		m.head = (m.head + 1) % maxMissing
	}
	m.until[e.key] = e.until
}

// len is the number of names remembered, expired or not.
func (m *missingNames) len() int { return len(m.until) }

// cached returns a cached page, marking it used. u.mu is held.
func (u *upstream) cached(norm string) *upstreamPage {
	el := u.pages[norm]
	if el == nil {
		return nil
	}
	u.lru.MoveToFront(el)
	return el.Value.(*cachedUpstream).page
}

// store keeps a page and indexes its files, evicting the least recently
// used pages while the cache is over its budget in bytes or in pages. It
// is called with u.mu held.
func (u *upstream) store(norm string, p *upstreamPage) {
	if el := u.pages[norm]; el != nil {
		u.evict(el)
	}
	size := p.bytes + pageOverhead + int64(len(norm))
	for u.lru.Len() > 0 && (u.cacheBytes+size > pageCacheBytes || u.lru.Len() >= maxPages) {
		u.evict(u.lru.Back())
	}
	u.pages[norm] = u.lru.PushFront(&cachedUpstream{norm: norm, page: p, size: size})
	u.cacheBytes += size
	for _, f := range p.files {
		u.listed[f.filename] = f
	}
}

// evict drops a cached page and its files. u.mu is held.
func (u *upstream) evict(el *list.Element) {
	c := u.lru.Remove(el).(*cachedUpstream)
	delete(u.pages, c.norm)
	u.cacheBytes -= c.size
	u.unlist(c.page)
}

func (u *upstream) unlist(p *upstreamPage) {
	for _, f := range p.files {
		if u.listed[f.filename] == f {
			delete(u.listed, f.filename)
		}
	}
}

// lookup returns the listed upstream file of that name.
func (u *upstream) lookup(filename string) *upstreamFile {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.listed[filename]
}

// allow reports whether a request may go upstream now, and whether it is
// the breaker's probe, waiting for the first request's outcome if there is
// one in flight, and counting a refusal.
func (u *upstream) allow(ctx context.Context) (probe bool, err error) {
	for {
		ok, probe, wait := u.br.allow(u.now())
		if ok {
			return probe, nil
		}
		if wait == nil {
			break
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	u.stats.upstreamSkipped.Add(1)
	st := u.br.state(u.now())
	return false, &unreachableError{retryIn: st.retryIn, last: st.lastError}
}

// errProbeTimeout is a probe that had no answer in time.
var errProbeTimeout = errors.New("no answer within the probe timeout")

// send sends one request upstream. A probe must have its answer's headers
// within the probe timeout: while the upstream's state is unknown, the
// requests waiting for it wait that long at most, whatever the page
// timeout.
func (u *upstream) send(req *http.Request, probe bool) (*http.Response, error) {
	if u.latency != nil {
		defer u.latency.since(time.Now())
	}
	if !probe {
		return u.client.Do(req)
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	timer := time.AfterFunc(u.probeTimeout, func() { cancel(errProbeTimeout) })
	resp, err := u.client.Do(req.WithContext(ctx))
	if timer.Stop() && err == nil {
		resp.Body = &cancelingBody{ReadCloser: resp.Body, cancel: cancel}
		return resp, nil
	}
	if err == nil {
		resp.Body.Close()
	}
	if errors.Is(context.Cause(ctx), errProbeTimeout) {
		err = fmt.Errorf("%w (%s)", errProbeTimeout, u.probeTimeout)
	}
	cancel(nil)
	return nil, err
}

// cancelingBody releases a request's context when its body is closed.
type cancelingBody struct {
	io.ReadCloser
	cancel context.CancelCauseFunc
}

func (b *cancelingBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel(nil)
	return err
}

// failed records a failure of the upstream itself.
func (u *upstream) failed(err error) {
	u.stats.upstreamFailures.Add(1)
	opened, period := u.br.failure(u.now(), err)
	if opened {
		u.log.Warn("upstream unreachable; serving local files only until it answers again",
			"upstream", u.base, "err", err, "retry_in", period.String())
	} else {
		u.log.Warn("upstream still unreachable", "upstream", u.base, "err", err, "retry_in", period.String())
	}
}

// isOutage reports whether a response status means the upstream is down
// rather than that the project is missing.
func isOutage(code int) bool { return code >= 500 || code == http.StatusTooManyRequests }

// errPageTimeout ends an upstream page that took longer than pageTimeout.
var errPageTimeout = errors.New("upstream page timed out")

func (u *upstream) fetch(norm string, old *upstreamPage, probe bool) (*upstreamPage, error) {
	// The page gets pageTimeout to answer, and pageTimeout again to arrive
	// once a parse slot is free: time spent queueing behind this server's
	// own parses is not the upstream's slowness, and must not count
	// against it (under load it tripped the breaker for every project).
	ctx, cancel := context.WithCancelCause(u.ctx)
	defer cancel(nil)
	deadline := time.AfterFunc(u.pageTimeout, func() { cancel(errPageTimeout) })
	defer deadline.Stop()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.base+norm+"/", nil)
	if err != nil {
		u.br.done()
		return nil, fmt.Errorf("fetching upstream page of %s: %w", norm, err)
	}
	req.Header.Set("Accept", upstreamAccept)
	req.Header.Set("User-Agent", u.userAgent)
	req.Header.Set("Via", u.via)
	if old != nil && old.found {
		if old.etag != "" {
			req.Header.Set("If-None-Match", old.etag)
		}
		if old.lastModified != "" {
			req.Header.Set("If-Modified-Since", old.lastModified)
		}
	}
	u.stats.upstreamRequests.Add(1)
	resp, err := u.send(req, probe)
	if err != nil {
		if u.ctx.Err() != nil {
			u.br.done()
			return nil, err
		}
		if errors.Is(err, errRefused) {
			u.br.done()
			u.stats.refused.Add(1)
			u.log.Error("upstream page refused", "project", norm, "err", err)
			return nil, fmt.Errorf("fetching upstream page of %s: %w", norm, err)
		}
		if errors.Is(context.Cause(ctx), errPageTimeout) {
			err = errPageTimeout
		}
		u.failed(err)
		return nil, fmt.Errorf("fetching upstream page of %s: %w", norm, err)
	}
	defer resp.Body.Close()
	if u.testHookAnswered != nil {
		u.testHookAnswered(norm)
	}
	now := u.now()
	switch {
	case resp.StatusCode == http.StatusNotModified && old != nil && old.found:
		u.br.success()
		u.stats.pagesRevalidated.Add(1)
		p := *old
		p.fetched = now
		return &p, nil
	case isOutage(resp.StatusCode):
		err := fmt.Errorf("upstream page of %s: %s", norm, resp.Status)
		u.failed(err)
		return nil, err
	case resp.StatusCode != http.StatusOK:
		u.br.success()
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusGone {
			u.log.Warn("upstream page refused", "project", norm, "status", resp.Status)
		}
		return &upstreamPage{fetched: now}, nil
	}
	// The page is read as it is parsed, a bounded number at a time: what
	// an upstream sends costs memory only for the files it lists.
	if !deadline.Stop() {
		u.br.done()
		return nil, fmt.Errorf("reading upstream page of %s: %w", norm, context.Cause(ctx))
	}
	wait := time.NewTimer(u.pageTimeout)
	select {
	case u.parses <- struct{}{}:
		wait.Stop()
	case <-wait.C:
		u.br.done()
		return nil, fmt.Errorf("reading upstream page of %s: no parse slot within %s", norm, u.pageTimeout)
	case <-ctx.Done():
		wait.Stop()
		u.br.done()
		return nil, fmt.Errorf("reading upstream page of %s: %w", norm, context.Cause(ctx))
	}
	defer func() { <-u.parses }()
	deadline.Reset(u.pageTimeout)
	body := &capReader{r: connReader{resp.Body}, n: maxPageSize, over: errTooLarge}
	parsed, err := parsePage(resp.Header.Get("Content-Type"), body, resp.Request.URL, norm, u.allowed)
	var readErr *readError
	switch {
	case errors.As(err, &readErr):
		if u.ctx.Err() != nil {
			u.br.done()
			return nil, err
		}
		if errors.Is(context.Cause(ctx), errPageTimeout) {
			readErr.err = errPageTimeout
		}
		u.failed(readErr.err)
		return nil, fmt.Errorf("reading upstream page of %s: %w", norm, readErr.err)
	case errors.Is(err, errTooLarge):
		u.br.success()
		u.stats.pagesFetched.Add(1)
		u.log.Warn("upstream page too large; ignoring it", "project", norm, "url", resp.Request.URL.Redacted(),
			"limit_bytes", maxPageSize, "limit_memory", maxPageBytes)
		return &upstreamPage{fetched: now}, nil
	case err != nil:
		u.br.success()
		u.stats.pagesFetched.Add(1)
		u.log.Warn("upstream page unreadable; ignoring it", "project", norm, "url", resp.Request.URL.Redacted(), "err", err)
		return &upstreamPage{fetched: now}, nil
	}
	u.br.success()
	u.stats.pagesFetched.Add(1)
	if parsed.offOrigin > 0 {
		u.stats.refused.Add(int64(parsed.offOrigin))
		u.log.Warn("upstream page names files on hosts it may not name; not listing them (see file_hosts)",
			"project", norm, "files", parsed.offOrigin, "example", parsed.example)
	}
	slices.SortFunc(parsed.files, func(a, b *upstreamFile) int { return strings.Compare(a.filename, b.filename) })
	return &upstreamPage{id: pageIDs.Add(1), found: true, fetched: now, etag: resp.Header.Get("ETag"), lastModified: resp.Header.Get("Last-Modified"),
		files: parsed.files, versions: parsed.versions, bytes: parsed.bytes}, nil
}

// readError is a failure to read the page off the connection, as opposed
// to a page that cannot be parsed: the upstream's fault, for the breaker.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// connReader passes on what it reads off the connection, its errors but
// io.EOF wrapped in a readError.
type connReader struct{ r io.Reader }

func (c connReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		err = &readError{err}
	}
	return n, err
}

// pageParser collects the files of a page as it is read, keeping only
// those that belong to the project, have a valid name and a URL on an
// allowed origin, and failing with errTooLarge once what it keeps would
// outgrow maxPageBytes.
type pageParser struct {
	norm    string
	allowed map[string]bool // nil allows every http(s) origin

	files     []*upstreamFile
	seen      map[string]bool
	versions  []string
	bytes     int64
	offOrigin int    // files on origins that are not allowed
	example   string // one of them, for the log
}

func (p *pageParser) grow(n int64) error {
	p.bytes += n
	if p.bytes > maxPageBytes {
		return errTooLarge
	}
	return nil
}

// add keeps a file the first time its name is listed.
func (p *pageParser) add(f *upstreamFile) error {
	if f == nil || p.seen[f.filename] {
		return nil
	}
	p.seen[f.filename] = true
	p.files = append(p.files, f)
	return p.grow(f.bytes())
}

// file checks a listed file's link, which the codec made absolute and
// cut the fragment off, and its name; nil when it is not kept.
func (p *pageParser) file(link string) *upstreamFile {
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil
	}
	name, err := url.PathUnescape(path.Base(u.EscapedPath()))
	if err != nil || !wheelhouse.ValidFilename(name) {
		return nil
	}
	project, _, ok := splitFilename(name, p.norm)
	if !ok || distname.NormalizeName(project) != p.norm {
		return nil
	}
	if p.allowed != nil && !p.allowed[origin(u)] {
		p.offOrigin++
		if p.example == "" {
			p.example = u.Redacted()
		}
		return nil
	}
	f := &upstreamFile{project: p.norm, filename: name, url: link, size: -1}
	if strings.HasSuffix(link, name) {
		// The name shares the URL's memory rather than keeping the path
		// it was cut from: a page may list tens of thousands of files.
		f.filename = link[len(link)-len(name):]
	}
	return f
}

// parsePage reads a PEP 691 JSON or PEP 503 HTML project page from r,
// keeping only files that belong to the project, have a valid name and an
// http(s) URL on an allowed origin (any, when allowed is nil). The parser
// it returns holds the files, the versions and their estimated memory. An
// entry that cannot be read is skipped, as pip skips it; what it read of
// one with a bad field (yanked, metadata, upload time) is kept.
func parsePage(contentType string, r io.Reader, pageURL *url.URL, norm string, allowed map[string]bool) (*pageParser, error) {
	p := &pageParser{norm: norm, allowed: allowed, seen: map[string]bool{}}
	_, err := simple.ScanProject(r, contentType, pageURL, func(sf *simple.File, _ error) error {
		if sf.URL == "" {
			return nil
		}
		return p.add(p.listed(sf))
	}, func(v string) error {
		p.versions = append(p.versions, v)
		return p.grow(int64(16 + len(v)))
	})
	if err != nil {
		var re *readError
		if errors.Is(err, errTooLarge) || errors.As(err, &re) {
			return nil, err
		}
		return nil, fmt.Errorf("parsing the page: %w", err)
	}
	if p.versions == nil {
		for _, f := range p.files {
			if _, v, ok := splitFilename(f.filename, norm); ok {
				p.versions = append(p.versions, v)
			}
		}
		if err := p.grow(int64(16 * len(p.versions))); err != nil {
			return nil, err
		}
	}
	p.versions = sortVersions(p.versions)
	p.seen = nil
	p.bytes += int64(cap(p.files)) * 8
	return p, nil
}

// listed checks a file the page lists; nil when it is not kept. The name
// must be the one its URL ends with: that is the file served.
func (p *pageParser) listed(sf *simple.File) *upstreamFile {
	f := p.file(sf.URL)
	if f == nil || f.filename != sf.Filename {
		return nil
	}
	if h := sf.Hashes["sha256"]; simple.ValidSHA256(h) {
		f.sha256 = h
	}
	f.requiresPython = sf.RequiresPython
	f.yanked, f.yankedReason = sf.Yanked, sf.YankedReason
	f.meta = sf.CoreMetadata
	if h := sf.MetadataHashes["sha256"]; simple.ValidSHA256(h) {
		f.metaSHA = h
	}
	if sf.Size >= 0 {
		f.size = sf.Size
	}
	f.uploadTime = sf.UploadTime
	return f
}
