package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/larder-build/larder/wheelhouse"
)

// Limits on what the upstream may send.
const (
	maxPageSize     = 64 << 20 // the largest PyPI project pages are a few MB
	maxMetadataSize = 16 << 20
	maxPages        = 4096 // upstream pages kept in memory
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
	found        bool
	files        []*upstreamFile
	versions     []string
	etag         string
	lastModified string
	fetched      time.Time
}

type flight struct {
	done chan struct{}
	page *upstreamPage
	err  error
}

// upstream is the index the server falls through to: its pages, cached for
// a TTL, the files they list, and the breaker that guards it.
type upstream struct {
	base        string // ends in "/"
	client      *http.Client
	ttl         time.Duration
	pageTimeout time.Duration
	br          *breaker
	now         func() time.Time
	log         *slog.Logger
	stats       *counters
	userAgent   string
	ctx         context.Context // ends when the server closes

	mu      sync.Mutex
	pages   map[string]*upstreamPage
	flights map[string]*flight
	listed  map[string]*upstreamFile // by file name
}

func newTransport(connectTimeout, headerTimeout time.Duration) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   connectTimeout + 3*time.Second,
		ResponseHeaderTimeout: headerTimeout,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
}

// page returns the upstream's page of a project: from the cache within the
// TTL, else fetched (or revalidated), one request per project at a time. It
// returns an *unreachableError without asking when the breaker is open.
func (u *upstream) page(ctx context.Context, norm string) (*upstreamPage, error) {
	for {
		u.mu.Lock()
		old := u.pages[norm]
		now := u.now()
		if old != nil && now.Sub(old.fetched) < u.ttl {
			u.mu.Unlock()
			u.stats.pagesCached.Add(1)
			return old, nil
		}
		f := u.flights[norm]
		if f == nil {
			ok, wait := u.br.allow(now)
			if !ok {
				u.mu.Unlock()
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
			f = &flight{done: make(chan struct{})}
			u.flights[norm] = f
			go u.run(f, norm, old)
		}
		u.mu.Unlock()
		select {
		case <-f.done:
			return f.page, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (u *upstream) run(f *flight, norm string, old *upstreamPage) {
	f.page, f.err = u.fetch(norm, old)
	u.mu.Lock()
	delete(u.flights, norm)
	if f.page != nil {
		u.store(norm, f.page)
	}
	u.mu.Unlock()
	close(f.done)
}

// store keeps a page and indexes its files, evicting the oldest page when
// too many are kept. It is called with u.mu held.
func (u *upstream) store(norm string, p *upstreamPage) {
	if old := u.pages[norm]; old != nil {
		u.unlist(old)
	} else if len(u.pages) >= maxPages {
		var oldest string
		var t time.Time
		for n, q := range u.pages {
			if oldest == "" || q.fetched.Before(t) {
				oldest, t = n, q.fetched
			}
		}
		u.unlist(u.pages[oldest])
		delete(u.pages, oldest)
	}
	u.pages[norm] = p
	for _, f := range p.files {
		u.listed[f.filename] = f
	}
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

// allow reports whether a request may go upstream now, waiting for the
// first request's outcome if there is one in flight, and counting a
// refusal.
func (u *upstream) allow(ctx context.Context) error {
	for {
		ok, wait := u.br.allow(u.now())
		if ok {
			return nil
		}
		if wait == nil {
			break
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	u.stats.upstreamSkipped.Add(1)
	st := u.br.state(u.now())
	return &unreachableError{retryIn: st.retryIn, last: st.lastError}
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

func (u *upstream) fetch(norm string, old *upstreamPage) (*upstreamPage, error) {
	ctx, cancel := context.WithTimeout(u.ctx, u.pageTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.base+norm+"/", nil)
	if err != nil {
		u.br.done()
		return nil, fmt.Errorf("fetching upstream page of %s: %w", norm, err)
	}
	req.Header.Set("Accept", upstreamAccept)
	req.Header.Set("User-Agent", u.userAgent)
	if old != nil && old.found {
		if old.etag != "" {
			req.Header.Set("If-None-Match", old.etag)
		}
		if old.lastModified != "" {
			req.Header.Set("If-Modified-Since", old.lastModified)
		}
	}
	u.stats.upstreamRequests.Add(1)
	resp, err := u.client.Do(req)
	if err != nil {
		if u.ctx.Err() != nil {
			u.br.done()
			return nil, err
		}
		u.failed(err)
		return nil, fmt.Errorf("fetching upstream page of %s: %w", norm, err)
	}
	defer resp.Body.Close()
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
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPageSize+1))
	if err != nil {
		u.failed(err)
		return nil, fmt.Errorf("reading upstream page of %s: %w", norm, err)
	}
	u.br.success()
	u.stats.pagesFetched.Add(1)
	if len(body) > maxPageSize {
		u.log.Warn("upstream page too large; ignoring it", "project", norm, "limit", maxPageSize)
		return &upstreamPage{fetched: now}, nil
	}
	p := &upstreamPage{found: true, fetched: now, etag: resp.Header.Get("ETag"), lastModified: resp.Header.Get("Last-Modified")}
	if p.files, p.versions, err = parsePage(resp.Header.Get("Content-Type"), body, resp.Request.URL, norm); err != nil {
		u.log.Warn("upstream page unreadable; ignoring it", "project", norm, "err", err)
		return &upstreamPage{fetched: now}, nil
	}
	return p, nil
}

// parsePage reads a PEP 691 JSON or PEP 503 HTML project page, keeping
// only files that belong to the project, have a valid name and an http(s)
// URL.
func parsePage(contentType string, body []byte, pageURL *url.URL, norm string) ([]*upstreamFile, []string, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	var files []*upstreamFile
	var versions []string
	var err error
	if strings.HasSuffix(mt, "+json") || mt == "application/json" {
		files, versions, err = parseJSONPage(body, pageURL, norm)
	} else {
		files = parseHTMLPage(string(body), pageURL, norm)
	}
	if err != nil {
		return nil, nil, err
	}
	seen := map[string]bool{}
	kept := files[:0]
	for _, f := range files {
		if seen[f.filename] {
			continue
		}
		seen[f.filename] = true
		kept = append(kept, f)
	}
	if versions == nil {
		for _, f := range kept {
			if _, v, ok := splitFilename(f.filename); ok {
				versions = append(versions, v)
			}
		}
	}
	return kept, sortVersions(versions), nil
}

// newUpstreamFile checks a listed file and fills in what every form has.
func newUpstreamFile(norm, href string, pageURL *url.URL) *upstreamFile {
	u, err := pageURL.Parse(strings.TrimSpace(href))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil
	}
	fragment := u.Fragment
	u.Fragment, u.RawFragment = "", ""
	name, err := url.PathUnescape(path.Base(u.EscapedPath()))
	if err != nil || !wheelhouse.ValidFilename(name) {
		return nil
	}
	project, _, ok := splitFilename(name)
	if !ok || normalize(project) != norm {
		return nil
	}
	f := &upstreamFile{project: norm, filename: name, url: u.String(), size: -1}
	if alg, h, ok := strings.Cut(fragment, "="); ok && strings.EqualFold(alg, "sha256") && isHex64(h) {
		f.sha256 = strings.ToLower(h)
	}
	return f
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// metadataValue reads a PEP 658 advertisement: "true" or "sha256=HEX"
// (other hashes mean metadata exists but cannot be checked here).
func metadataValue(v string) (meta bool, sha string) {
	v = strings.TrimSpace(v)
	if alg, h, ok := strings.Cut(v, "="); ok {
		if strings.EqualFold(alg, "sha256") && isHex64(h) {
			return true, strings.ToLower(h)
		}
		return true, ""
	}
	return strings.EqualFold(v, "true"), ""
}

func parseJSONPage(body []byte, pageURL *url.URL, norm string) ([]*upstreamFile, []string, error) {
	var doc struct {
		Versions []string `json:"versions"`
		Files    []struct {
			Filename         string            `json:"filename"`
			URL              string            `json:"url"`
			Hashes           map[string]string `json:"hashes"`
			RequiresPython   *string           `json:"requires-python"`
			Yanked           json.RawMessage   `json:"yanked"`
			CoreMetadata     json.RawMessage   `json:"core-metadata"`
			DistInfoMetadata json.RawMessage   `json:"dist-info-metadata"`
			Size             *int64            `json:"size"`
			UploadTime       string            `json:"upload-time"`
		} `json:"files"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, nil, fmt.Errorf("parsing JSON page: %w", err)
	}
	var files []*upstreamFile
	for _, jf := range doc.Files {
		f := newUpstreamFile(norm, jf.URL, pageURL)
		if f == nil || f.filename != jf.Filename && jf.Filename != "" {
			continue
		}
		if h := jf.Hashes["sha256"]; isHex64(h) {
			f.sha256 = strings.ToLower(h)
		}
		if jf.RequiresPython != nil {
			f.requiresPython = *jf.RequiresPython
		}
		var yb bool
		var ys string
		if json.Unmarshal(jf.Yanked, &yb) == nil {
			f.yanked = yb
		} else if json.Unmarshal(jf.Yanked, &ys) == nil {
			f.yanked, f.yankedReason = true, ys
		}
		md := jf.CoreMetadata
		if len(md) == 0 || string(md) == "null" {
			md = jf.DistInfoMetadata
		}
		var mb bool
		var mh map[string]string
		if json.Unmarshal(md, &mb) == nil {
			f.meta = mb
		} else if json.Unmarshal(md, &mh) == nil {
			f.meta = true
			if h := mh["sha256"]; isHex64(h) {
				f.metaSHA = strings.ToLower(h)
			}
		}
		if jf.Size != nil && *jf.Size >= 0 {
			f.size = *jf.Size
		}
		if t, err := time.Parse(time.RFC3339Nano, jf.UploadTime); err == nil {
			f.uploadTime = t
		}
		files = append(files, f)
	}
	return files, doc.Versions, nil
}

func parseHTMLPage(doc string, pageURL *url.URL, norm string) []*upstreamFile {
	var files []*upstreamFile
	for _, a := range anchors(doc) {
		href, ok := a["href"]
		if !ok {
			continue
		}
		f := newUpstreamFile(norm, href, pageURL)
		if f == nil {
			continue
		}
		f.requiresPython = a["data-requires-python"]
		if reason, ok := a["data-yanked"]; ok {
			f.yanked, f.yankedReason = true, reason
		}
		v, ok := a["data-core-metadata"]
		if !ok {
			v = a["data-dist-info-metadata"]
		}
		f.meta, f.metaSHA = metadataValue(v)
		files = append(files, f)
	}
	return files
}

// anchors returns the attributes of every <a> tag of an HTML document,
// names lowercased and values unescaped. It reads only what simple index
// pages contain; comments and scripts are not special.
func anchors(doc string) []map[string]string {
	var out []map[string]string
	for i := 0; i < len(doc); i++ {
		if doc[i] != '<' || i+2 >= len(doc) || (doc[i+1] != 'a' && doc[i+1] != 'A') {
			continue
		}
		if c := doc[i+2]; c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '>' {
			continue
		}
		attrs, end := parseAttrs(doc, i+2)
		out = append(out, attrs)
		i = end
	}
	return out
}

// parseAttrs reads attributes from doc[i:] up to the closing '>' and
// returns them with the index of that '>'.
func parseAttrs(doc string, i int) (map[string]string, int) {
	attrs := map[string]string{}
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }
	for i < len(doc) {
		for i < len(doc) && (isSpace(doc[i]) || doc[i] == '/') {
			i++
		}
		if i >= len(doc) || doc[i] == '>' {
			break
		}
		start := i
		for i < len(doc) && !isSpace(doc[i]) && doc[i] != '=' && doc[i] != '>' && doc[i] != '/' {
			i++
		}
		name := strings.ToLower(doc[start:i])
		for i < len(doc) && isSpace(doc[i]) {
			i++
		}
		value := ""
		if i < len(doc) && doc[i] == '=' {
			i++
			for i < len(doc) && isSpace(doc[i]) {
				i++
			}
			if i < len(doc) && (doc[i] == '"' || doc[i] == '\'') {
				q := doc[i]
				j := strings.IndexByte(doc[i+1:], q)
				if j < 0 {
					value, i = doc[i+1:], len(doc)
				} else {
					value, i = doc[i+1:i+1+j], i+2+j
				}
			} else {
				start := i
				for i < len(doc) && !isSpace(doc[i]) && doc[i] != '>' {
					i++
				}
				value = doc[start:i]
			}
		}
		if _, dup := attrs[name]; !dup && name != "" {
			attrs[name] = html.UnescapeString(value)
		}
	}
	return attrs, i
}
