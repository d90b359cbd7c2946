package pypitest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a fake PyPI serving an Index. It is an http.Handler; NewServer
// also listens on a loopback port. All its methods are safe for concurrent
// use, so knobs may be turned while clients are running.
type Server struct {
	ts *httptest.Server

	mu      sync.Mutex
	catalog *catalog
	knobs   knobs
	counts  map[string]int
	total   int
	specErr error
	conns   int // connections open, for Settle
}

// catalog is an immutable snapshot of an Index with its files built lazily.
type catalog struct {
	projects map[string]*Project // by normalized name
	names    []string            // normalized, sorted
	owner    map[string]string   // file name -> normalized project name
	builds   map[string]*build   // normalized name -> files, built on first use
	order    map[string][]string // normalized name -> versions, ascending
}

// build is the lazily built files of one project: a large index costs only
// what a test touches. Files over retainLimit are kept without their Data,
// which is regenerated (deterministically) when downloaded, so that a
// realistic workload with large wheels does not live in memory.
type build struct {
	once   sync.Once
	files  []*File
	makers []func() (*File, error)
	err    error
}

const retainLimit = 1 << 20

// FailMode is how a failing request fails.
type FailMode int

const (
	// FailNone removes a failure rule.
	FailNone FailMode = iota
	// Fail500 answers 500 Internal Server Error.
	Fail500
	// FailReset resets the connection without an answer.
	FailReset
)

type knobs struct {
	latency      time.Duration
	failNth      map[int]FailMode
	failPaths    map[string]FailMode
	wrongHash    map[string]bool
	truncate     map[string]int
	noMetadata   map[string]bool
	noMetadataAt bool
	mode         Mode
	cacheControl string
	fileCache    string
	user, pass   string // Basic credentials every request needs; "" for none
}

// Option configures a Server at construction; every option has a method
// counterpart for changing it at run time.
type Option func(*Server)

// WithBasicAuth makes every request need Basic credentials user and
// pass, as a private index does: without them it is answered 401.
func WithBasicAuth(user, pass string) Option {
	return func(s *Server) { s.knobs.user, s.knobs.pass = user, pass }
}

// WithLatency delays every request by d.
func WithLatency(d time.Duration) Option { return func(s *Server) { s.SetLatency(d) } }

// WithFailRequest makes the nth request (1-based, as counted by
// TotalRequests) fail with mode.
func WithFailRequest(n int, mode FailMode) Option {
	return func(s *Server) { s.FailRequest(n, mode) }
}

// WithFailPath makes every request whose URL path matches pattern
// (path.Match syntax) fail with mode.
func WithFailPath(pattern string, mode FailMode) Option {
	return func(s *Server) { s.FailPath(pattern, mode) }
}

// WithWrongHash makes the index advertise a wrong sha256 for each named file;
// "NAME.metadata" names a file's PEP 658 metadata.
func WithWrongHash(filenames ...string) Option {
	return forEachFile(filenames, (*Server).SetWrongHash)
}

// WithTruncate makes downloads of filename stop after n bytes, with the full
// Content-Length announced and the connection closed.
func WithTruncate(filename string, n int) Option {
	return func(s *Server) { s.SetTruncate(filename, n) }
}

// WithoutMetadata withholds the PEP 658 metadata of the named files.
func WithoutMetadata(filenames ...string) Option {
	return forEachFile(filenames, (*Server).SetOmitMetadata)
}

// forEachFile is an Option that turns a per-file setting on for each of
// filenames.
func forEachFile(filenames []string, set func(s *Server, filename string, on bool)) Option {
	return func(s *Server) {
		for _, f := range filenames {
			set(s, f, true)
		}
	}
}

// WithoutAnyMetadata withholds PEP 658 metadata for every file.
func WithoutAnyMetadata() Option { return func(s *Server) { s.SetOmitAllMetadata(true) } }

// WithMode restricts the page formats offered.
func WithMode(m Mode) Option { return func(s *Server) { s.SetMode(m) } }

// WithCacheControl sets the Cache-Control header of index pages (none by
// default).
func WithCacheControl(v string) Option { return func(s *Server) { s.SetCacheControl(v) } }

// WithFileCacheControl sets the Cache-Control header of files (none by
// default).
func WithFileCacheControl(v string) Option { return func(s *Server) { s.SetFileCacheControl(v) } }

// PyPI's Cache-Control headers, for a fake that a client's HTTP cache
// treats as it treats PyPI: pages fresh for ten minutes, files forever.
const (
	PyPIPageCacheControl = "max-age=600, public"
	PyPIFileCacheControl = "max-age=365000000, immutable, public"
)

// New returns a Server for idx that is not listening: use it as an
// http.Handler. An invalid idx is reported by Err and answers every request
// with 500.
func New(idx *Index, opts ...Option) *Server {
	s := &Server{counts: map[string]int{}}
	s.knobs = newKnobs()
	s.specErr = s.SetIndex(idx)
	for _, o := range opts {
		o(s)
	}
	return s
}

// NewServer returns a Server for idx listening on a loopback port. Close it
// when done.
func NewServer(idx *Index, opts ...Option) *Server {
	s := New(idx, opts...)
	s.ts = httptest.NewUnstartedServer(s)
	s.ts.Config.ConnState = s.connState
	s.ts.Start()
	return s
}

// connState counts the connections open.
func (s *Server) connState(_ net.Conn, st http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch st {
	case http.StateNew:
		s.conns++
	case http.StateClosed, http.StateHijacked:
		s.conns--
	}
}

// Settle closes every client connection and waits, up to ten seconds,
// until each has ended: a request a client sent before it gave up (a
// cancelled fetch) is read and counted before Settle returns, never
// after a Reset that follows it. It fails tb if a connection outlives
// the wait.
func (s *Server) Settle(tb testing.TB) {
	tb.Helper()
	if s.ts == nil {
		return
	}
	s.ts.CloseClientConnections()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		n := s.conns
		s.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("pypitest: %d connections still open 10 s after they were closed", n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Start is NewServer for tests: it fails t on an invalid spec and closes the
// server when the test ends.
func Start(t testing.TB, idx *Index, opts ...Option) *Server {
	t.Helper()
	s := NewServer(idx, opts...)
	t.Cleanup(s.Close)
	if err := s.Err(); err != nil {
		t.Fatalf("starting fake index: %v", err)
	}
	return s
}

// Err reports why the spec given to New or NewServer was rejected.
func (s *Server) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.specErr
}

// URL returns the simple index URL, "http://127.0.0.1:PORT/simple/", or ""
// for a Server made by New.
func (s *Server) URL() string {
	if s.ts == nil {
		return ""
	}
	return s.ts.URL + "/simple/"
}

// BaseURL returns the server's root URL without a trailing slash.
func (s *Server) BaseURL() string {
	if s.ts == nil {
		return ""
	}
	return s.ts.URL
}

// Close stops the listener, if any.
func (s *Server) Close() {
	if s.ts != nil {
		s.ts.Close()
	}
}

// SetIndex replaces the served index, for tests of a refresh (a new release
// published); knobs and counters stay.
func (s *Server) SetIndex(idx *Index) error {
	if err := idx.Validate(); err != nil {
		return err
	}
	c := &catalog{projects: map[string]*Project{}, owner: map[string]string{}, builds: map[string]*build{}, order: map[string][]string{}}
	for _, p := range cloneIndex(idx).Projects {
		n := Normalize(p.Name)
		c.projects[n] = &p
		c.builds[n] = &build{}
		c.names = append(c.names, n)
		c.order[n] = sortedVersions(&p)
		for _, r := range p.Releases {
			for _, w := range r.Wheels {
				c.owner[WheelFilename(p.Name, r.Version, w.Tags)] = n
			}
			if r.Sdist {
				c.owner[SdistFilename(p.Name, r.Version)] = n
			}
		}
	}
	sort.Strings(c.names)
	s.mu.Lock()
	s.catalog = c
	s.specErr = nil
	s.mu.Unlock()
	return nil
}

func cloneIndex(idx *Index) *Index {
	out := &Index{Projects: slices.Clone(idx.Projects)}
	for i := range out.Projects {
		p := &out.Projects[i]
		p.Releases = slices.Clone(p.Releases)
		for j := range p.Releases {
			r := &p.Releases[j]
			r.Requires = slices.Clone(r.Requires)
			r.Extras = slices.Clone(r.Extras)
			r.Wheels = slices.Clone(r.Wheels)
		}
	}
	return out
}

// SetLatency delays every request by d.
func (s *Server) SetLatency(d time.Duration) {
	s.turn(func(k *knobs) { k.latency = d })
}

// FailRequest makes the nth request (1-based, as counted by TotalRequests
// since the last Reset) fail with mode; FailNone removes the rule.
func (s *Server) FailRequest(n int, mode FailMode) {
	s.turn(func(k *knobs) { setOrDelete(k.failNth, n, mode, mode != FailNone) })
}

// FailPath makes every request whose URL path matches pattern (path.Match
// syntax, e.g. "/files/*.whl") fail with mode; FailNone removes the rule.
func (s *Server) FailPath(pattern string, mode FailMode) {
	s.turn(func(k *knobs) { setOrDelete(k.failPaths, pattern, mode, mode != FailNone) })
}

// SetWrongHash makes the index advertise a wrong sha256 for filename (or,
// for "NAME.metadata", for the metadata of NAME) while serving the right
// bytes.
func (s *Server) SetWrongHash(filename string, wrong bool) {
	s.turn(func(k *knobs) { setOrDelete(k.wrongHash, filename, true, wrong) })
}

// SetTruncate makes downloads of filename (or "NAME.metadata") stop after n
// bytes although the full Content-Length is announced; n < 0 removes the rule.
func (s *Server) SetTruncate(filename string, n int) {
	s.turn(func(k *knobs) { setOrDelete(k.truncate, filename, n, n >= 0) })
}

// SetOmitMetadata withholds (or restores) the PEP 658 metadata of filename:
// pages stop advertising it and its URL answers 404.
func (s *Server) SetOmitMetadata(filename string, omit bool) {
	s.turn(func(k *knobs) { setOrDelete(k.noMetadata, filename, true, omit) })
}

// SetOmitAllMetadata withholds (or restores) PEP 658 metadata for every file.
func (s *Server) SetOmitAllMetadata(omit bool) {
	s.turn(func(k *knobs) { k.noMetadataAt = omit })
}

// SetMode restricts the page formats offered.
func (s *Server) SetMode(m Mode) {
	s.turn(func(k *knobs) { k.mode = m })
}

// SetCacheControl sets the Cache-Control header of index pages; "" sends none.
func (s *Server) SetCacheControl(v string) {
	s.turn(func(k *knobs) { k.cacheControl = v })
}

// SetFileCacheControl sets the Cache-Control header of distribution files
// and their metadata; "" sends none.
func (s *Server) SetFileCacheControl(v string) {
	s.turn(func(k *knobs) { k.fileCache = v })
}

// turn changes the knobs under the lock.
func (s *Server) turn(set func(k *knobs)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	set(&s.knobs)
}

// newKnobs returns the knobs at their defaults.
func newKnobs() knobs {
	return knobs{failNth: map[int]FailMode{}, failPaths: map[string]FailMode{}, wrongHash: map[string]bool{}, truncate: map[string]int{}, noMetadata: map[string]bool{}}
}

// ClearKnobs turns every knob back to its default; counters stay.
func (s *Server) ClearKnobs() {
	s.turn(func(k *knobs) { *k = newKnobs() })
}

func setOrDelete[K comparable, V any](m map[K]V, k K, v V, set bool) {
	if set {
		m[k] = v
	} else {
		delete(m, k)
	}
}

// Requests returns how many requests were made for the URL path p (e.g.
// "/simple/foo/" or "/files/foo-1.0-py3-none-any.whl") since the last Reset,
// failed ones and redirects included.
func (s *Server) Requests(p string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[p]
}

// TotalRequests returns how many requests were made since the last Reset.
func (s *Server) TotalRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// Counts returns a copy of the per-path request counters.
func (s *Server) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// Reset zeroes the request counters, which also restarts the numbering
// FailRequest counts in.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = map[string]int{}
	s.total = 0
}

// Files returns the built files of the project named name (any spelling),
// building them if needed.
func (s *Server) Files(name string) ([]*File, error) {
	s.mu.Lock()
	c := s.catalog
	s.mu.Unlock()
	if c == nil {
		return nil, fmt.Errorf("listing files of %q: no index", name)
	}
	norm := Normalize(name)
	fs, err := s.projectFiles(c, norm)
	if err != nil {
		return nil, err
	}
	out := make([]*File, len(fs))
	for i := range fs {
		if out[i], err = s.fullFile(c, norm, i); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// fullFile returns the ith file of a built project with its Data.
func (s *Server) fullFile(c *catalog, norm string, i int) (*File, error) {
	b := c.builds[norm]
	if f := b.files[i]; f.Data != nil {
		return f, nil
	}
	return b.makers[i]()
}

func (s *Server) projectFiles(c *catalog, norm string) ([]*File, error) {
	p, ok := c.projects[norm]
	if !ok {
		return nil, fmt.Errorf("listing files of %q: no such project", norm)
	}
	b := c.builds[norm]
	b.once.Do(func() {
		makers := fileMakers(p)
		fs := make([]*File, len(makers))
		for i, mk := range makers {
			f, err := mk()
			if err != nil {
				b.err = err
				return
			}
			if f.Size > retainLimit {
				lean := *f
				lean.Data = nil
				f = &lean
			}
			fs[i] = f
		}
		rank := map[string]int{}
		for i, v := range c.order[norm] {
			rank[v] = i
		}
		order := make([]int, len(fs))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(x, y int) int { return rank[fs[x].Version] - rank[fs[y].Version] })
		for _, i := range order {
			b.files = append(b.files, fs[i])
			b.makers = append(b.makers, makers[i])
		}
	})
	return b.files, b.err
}

// ServeHTTP serves the index: /simple/, /simple/<project>/, /files/<file>
// and /files/<file>.metadata.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.total++
	s.counts[r.URL.Path]++
	fail := s.knobs.failNth[s.total]
	if fail == FailNone {
		for pattern, mode := range s.knobs.failPaths {
			if ok, _ := path.Match(pattern, r.URL.Path); ok {
				fail = mode
				break
			}
		}
	}
	latency := s.knobs.latency
	c, specErr := s.catalog, s.specErr
	wantUser, wantPass := s.knobs.user, s.knobs.pass
	s.mu.Unlock()

	if wantUser != "" {
		if u, p, ok := r.BasicAuth(); !ok || u != wantUser || p != wantPass {
			w.Header().Set("WWW-Authenticate", `Basic realm="pypitest"`)
			http.Error(w, "pypitest: credentials required", http.StatusUnauthorized)
			return
		}
	}

	if latency > 0 && !sleep(r.Context(), latency) {
		return
	}
	switch fail {
	case Fail500:
		http.Error(w, "pypitest: injected failure", http.StatusInternalServerError)
		return
	case FailReset:
		resetConnection(w)
		return
	}
	if specErr != nil || c == nil {
		http.Error(w, fmt.Sprintf("pypitest: invalid index spec: %v", specErr), http.StatusInternalServerError)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	switch {
	case p == "/simple":
		http.Redirect(w, r, "/simple/", http.StatusMovedPermanently)
	case p == "/simple/":
		s.serveRoot(w, r, c)
	case strings.HasPrefix(p, "/simple/"):
		name := strings.TrimSuffix(strings.TrimPrefix(p, "/simple/"), "/")
		if strings.Contains(name, "/") || name == "" {
			http.NotFound(w, r)
			return
		}
		norm := Normalize(name)
		if _, ok := c.projects[norm]; !ok {
			http.NotFound(w, r)
			return
		}
		if p != "/simple/"+norm+"/" {
			http.Redirect(w, r, "/simple/"+norm+"/", http.StatusMovedPermanently)
			return
		}
		s.serveProject(w, r, c, norm)
	case strings.HasPrefix(p, "/files/"):
		s.serveFile(w, r, c, strings.TrimPrefix(p, "/files/"))
	default:
		http.NotFound(w, r)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// resetConnection drops the connection with a TCP RST, the way a crashing
// proxy does; without a hijackable connection it answers 500.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "pypitest: injected reset", http.StatusInternalServerError)
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

// knobState is what rendering needs from the knobs, read under the lock.
func (s *Server) knobState() knobs {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.knobs
	k.wrongHash = cloneMap(k.wrongHash)
	k.noMetadata = cloneMap(k.noMetadata)
	k.truncate = cloneMap(k.truncate)
	return k
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (s *Server) serveRoot(w http.ResponseWriter, r *http.Request, c *catalog) {
	k := s.knobState()
	media := negotiate(r.Header.Get("Accept"), k.mode)
	if media == "" {
		notAcceptable(w, k.mode)
		return
	}
	var body []byte
	if media == MediaJSON {
		body = rootJSON(c)
	} else {
		body = rootHTML(c)
	}
	servePage(w, r, media, k.cacheControl, body)
}

func (s *Server) serveProject(w http.ResponseWriter, r *http.Request, c *catalog, norm string) {
	k := s.knobState()
	media := negotiate(r.Header.Get("Accept"), k.mode)
	if media == "" {
		notAcceptable(w, k.mode)
		return
	}
	fs, err := s.projectFiles(c, norm)
	if err != nil {
		http.Error(w, fmt.Sprintf("pypitest: %v", err), http.StatusInternalServerError)
		return
	}
	entries := make([]entry, len(fs))
	for i, f := range fs {
		entries[i] = newEntry(f, k)
	}
	var body []byte
	if media == MediaJSON {
		body = projectJSON(norm, c.order[norm], entries)
	} else {
		body = projectHTML(norm, entries)
	}
	servePage(w, r, media, k.cacheControl, body)
}

func notAcceptable(w http.ResponseWriter, m Mode) {
	http.Error(w, fmt.Sprintf("pypitest: no acceptable page format (server mode %s)", m), http.StatusNotAcceptable)
}

// servePage answers with body, a strong ETag from its content, and 304 when
// the client already holds it.
func servePage(w http.ResponseWriter, r *http.Request, media, cacheControl string, body []byte) {
	sum := sha256.Sum256(append([]byte(media+"\x00"), body...))
	h := w.Header()
	h.Set("ETag", `"`+hex.EncodeToString(sum[:16])+`"`)
	h.Set("Vary", "Accept")
	if media == MediaTextHTML {
		h.Set("Content-Type", "text/html; charset=utf-8")
	} else {
		h.Set("Content-Type", media)
	}
	if cacheControl != "" {
		h.Set("Cache-Control", cacheControl)
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, c *catalog, name string) {
	k := s.knobState()
	dist, isMeta := name, false
	if base, ok := strings.CutSuffix(name, ".metadata"); ok {
		dist, isMeta = base, true
	}
	norm, ok := c.owner[dist]
	if !ok {
		http.NotFound(w, r)
		return
	}
	fs, err := s.projectFiles(c, norm)
	if err != nil {
		http.Error(w, fmt.Sprintf("pypitest: %v", err), http.StatusInternalServerError)
		return
	}
	i := slices.IndexFunc(fs, func(f *File) bool { return f.Filename == dist })
	if i < 0 {
		http.NotFound(w, r)
		return
	}
	f := fs[i]
	data, digest := f.Data, f.SHA256
	if data == nil && !isMeta {
		full, err := s.fullFile(c, norm, i)
		if err != nil {
			http.Error(w, fmt.Sprintf("pypitest: %v", err), http.StatusInternalServerError)
			return
		}
		data = full.Data
	}
	if isMeta {
		if !hasMetadata(f, k) {
			http.NotFound(w, r)
			return
		}
		data, digest = f.Metadata, f.MetadataSHA256
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("ETag", `"`+digest+`"`)
	if k.fileCache != "" {
		h.Set("Cache-Control", k.fileCache)
	}
	if n, ok := k.truncate[name]; ok && n < len(data) && r.Method == http.MethodGet {
		serveTruncated(w, data, n)
		return
	}
	http.ServeContent(w, r, "", f.UploadTime, bytes.NewReader(data))
}

// serveTruncated announces all of data but sends only n bytes before closing
// the connection, as an interrupted transfer does.
func serveTruncated(w http.ResponseWriter, data []byte, n int) {
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data[:n])
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	if conn, _, err := rc.Hijack(); err == nil {
		_ = conn.Close()
	}
}

// hasMetadata reports whether f's PEP 658 metadata is published. Only wheels
// have it: a Metadata-Version 2.1 PKG-INFO is not reliable for an sdist.
func hasMetadata(f *File, k knobs) bool {
	return !f.IsSdist && !k.noMetadataAt && !k.noMetadata[f.Filename]
}
