package serve

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/larder-build/larder/resolver/distname"
	"github.com/larder-build/larder/wheelhouse"
)

// ServeHTTP routes a request. GET and HEAD are answered, and POST at / and
// /legacy/ (the upload API) when uploads are on.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.metrics.request(r)
	// A connection's write deadline outlives its request: an upload's
	// answer, which may come long after a read's deadline on the same
	// connection, has none (it is small), and every read sets its own.
	if r.Method == http.MethodPost {
		_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	} else {
		s.writeWithin(w, 0)
	}
	if r.Method == http.MethodPost && (r.URL.Path == "/" || r.URL.Path == "/legacy/" || r.URL.Path == "/legacy") && s.serveUploads != nil {
		w.Header()["X-Content-Type-Options"] = hdrNosniff
		s.serveUploads(w, r)
		return
	}
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
	if s.o.readAuth && !(len(segs) == 2 && segs[0] == "-" && segs[1] == "healthz") {
		// Liveness probes read /-/healthz without credentials; it names
		// no project.
		if _, res := s.checkAuth(r); res != authOK {
			s.metrics.unauthReads.Add(1)
			challenge(w, res)
			return
		}
	}
	switch {
	case len(segs) == 1 && segs[0] == "":
		s.serveOverview(w, r)
	case segs[0] == "simple" && len(segs) == 1:
		http.Redirect(w, r, "/simple/", http.StatusMovedPermanently)
	case segs[0] == "simple" && len(segs) == 2 && segs[1] == "":
		s.serveRoot(w, r)
	case (segs[0] == "simple" || segs[0] == "project") && (len(segs) == 2 || len(segs) == 3 && segs[2] == ""):
		// A project's index page (simple) or its page for people
		// (project), under its normalized name with a trailing slash.
		norm := distname.NormalizeName(segs[1])
		if !validProjectName(norm) {
			http.NotFound(w, r)
			return
		}
		if norm != segs[1] || len(segs) == 2 {
			http.Redirect(w, r, "/"+segs[0]+"/"+norm+"/", http.StatusMovedPermanently)
			return
		}
		if segs[0] == "simple" {
			s.serveProject(w, r, norm)
		} else {
			s.serveProjectPage(w, r, norm)
		}
	case segs[0] == "files" && len(segs) == 2:
		s.serveFile(w, r, segs[1])
	case segs[0] == "-" && len(segs) == 2 && segs[1] == "healthz":
		s.serveHealth(w, r)
	case segs[0] == "metrics" && len(segs) == 1:
		s.serveMetrics(w, r)
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
func (s *Server) writePage(w http.ResponseWriter, r *http.Request, f format, p *page, l *listing) {
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
		writeProject(idleWriter{s, w}, f, l)
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
		for n := range s.shared.Load().projects {
			names[n] = true
		}
		s.cacheMu.RLock()
		for n := range s.cached.projects {
			if !s.isPrivate(n) {
				names[n] = true
			}
		}
		for n := range s.uploaded.projects {
			names[n] = true
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
	s.writePage(w, r, f, c.p, nil)
}

func (s *Server) serveProject(w http.ResponseWriter, r *http.Request, norm string) {
	f := acceptable(w, r)
	if f == formatNone {
		return
	}
	if s.o.shared != nil && !s.isPrivate(norm) && len(s.baked.projects[norm]) == 0 {
		// Another server of the shared cache may have taken an upload of
		// this name since the list was read (of a public file a
		// wheelhouse there holds too: the upstream must not be asked).
		if listed := len(s.shared.Load().projects[norm]) > 0; s.up != nil || !listed {
			s.refreshForUnknown(r.Context(), norm, listed)
		}
	}
	private := s.isPrivate(norm)
	local, gen := s.localFiles(norm, private)
	var up *upstreamPage
	if !private && s.up != nil {
		p, err := s.up.page(r.Context(), norm, requestKey(r, s.o.trustedProxies))
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
	s.writeWithin(w, 0) // from now: the upstream may have taken a while
	if len(local) == 0 && up == nil {
		http.Error(w, "project "+norm+" not found", http.StatusNotFound)
		return
	}
	// A page rendered before and kept whole needs no listing: most
	// requests build none.
	p := s.cachedProject(norm, gen, up.pageID())
	var l *listing
	if p == nil || !p.kept {
		l = newListing(norm, local, up)
	}
	if p == nil {
		p = s.renderedProject(l, gen)
	}
	s.writePage(w, r, f, p, l)
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, name string) {
	base, isMeta := strings.CutSuffix(name, ".metadata")
	if !wheelhouse.ValidFilename(base) {
		http.NotFound(w, r)
		return
	}
	lf := s.lookupLocal(base)
	if lf != nil && lf.kind != kindFetched {
		s.serveLocal(w, r, lf, isMeta)
		return
	}
	// A shared cache's file is listed before a fetched-through one of the
	// same name, so it is served before it too: the bytes match the page.
	if sh := s.shared.Load().files[base]; sh != nil {
		// No sidecar is kept for a shared file: its metadata is not
		// advertised, and pip reads the wheel.
		if isMeta {
			http.NotFound(w, r)
		} else {
			s.serveShared(w, r, sh)
		}
		return
	}
	if lf != nil {
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

// Header values of the files served from disk, shared as hdrNosniff is.
var (
	hdrImmutable   = []string{immutable}
	hdrOctetStream = []string{"application/octet-stream"}
	hdrTextPlain   = []string{"text/plain; charset=utf-8"}
	hdrBytes       = []string{"bytes"}
)

// serveLocal serves a file of a store through http.ServeContent: Range,
// conditional requests and sendfile.
func (s *Server) serveLocal(w http.ResponseWriter, r *http.Request, lf *localFile, meta bool) {
	p, tag := lf.path, lf.entry.SHA256
	if meta {
		if p, tag = lf.metadata(); p == "" {
			http.NotFound(w, r)
			return
		}
	}
	f, size, err := openServed(p)
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
	if !meta && size != lf.entry.Size {
		s.log.Error("a wheelhouse file changed under the server; not serving it", "file", p, "size", size, "manifest_size", lf.entry.Size)
		http.Error(w, "file changed on disk", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h["Etag"] = []string{`"` + tag + `"`}
	h["Cache-Control"] = hdrImmutable
	h["Content-Type"] = hdrOctetStream
	if meta {
		h["Content-Type"] = hdrTextPlain
	}
	if r.Method == http.MethodGet && !conditional(r) {
		// The common case, a whole file: straight to sendfile, without
		// the seeks ServeContent makes to learn a size we know.
		h["Accept-Ranges"] = hdrBytes
		h["Content-Length"] = []string{strconv.FormatInt(size, 10)}
		if c, ok := r.Context().Value(connKey{}).(net.Conn); ok {
			defer cork(c)()
		}
		w.WriteHeader(http.StatusOK)
		// Out with the header first: the response's ReadFrom would
		// otherwise read (and copy) the file's first 512 bytes itself
		// before it hands the rest to sendfile. Corked, the header
		// leaves with the file's bytes.
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		// In chunks, each with writeIdle to go out: a client that stops
		// reading is cut, and each chunk still goes by sendfile.
		var n int64
		for n < size {
			s.writeWithin(w, 0)
			m, err := io.CopyN(w, f, min(sendChunk, size-n))
			n += m
			if err != nil {
				break
			}
		}
		if !meta {
			s.metrics.servedLocal(lf.kind, n)
		}
		return
	}
	s.writeWithin(w, size)
	http.ServeContent(w, r, "", time.Time{}, f)
}

// sendChunk is what a whole file's copy hands sendfile at once; each
// chunk must leave within the write idle timeout.
const sendChunk = 1 << 20

// minWriteRate is the slowest a client may read an answer written in one
// go (http.ServeContent's), in bytes a second.
const minWriteRate = 16 << 10

// writeWithin gives the answer's next n bytes the write idle timeout plus
// the time to send them at minWriteRate: a client that stops reading is
// cut then, instead of holding its connection, its handler and whatever it
// reads for ever. A ResponseWriter without deadlines keeps none.
func (s *Server) writeWithin(w http.ResponseWriter, n int64) {
	d := s.o.writeIdle + time.Duration(n/minWriteRate)*time.Second
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d))
}

// idleWriter is an answer written as a stream, in writes of at most
// tens of KiB: each has the write idle timeout to go out.
type idleWriter struct {
	s *Server
	w http.ResponseWriter
}

func (iw idleWriter) Write(p []byte) (int, error) {
	iw.s.writeWithin(iw.w, 0)
	return iw.w.Write(p)
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
