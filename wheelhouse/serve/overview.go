package serve

import (
	"bytes"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/larder-build/larder/internal/bytesize"
	"github.com/larder-build/larder/resolver/distname"
)

// overviewProject is one project as the pages for people show it: every
// local file the server would serve for it, whatever store it is in.
type overviewProject struct {
	name     string // normalized
	private  bool
	versions []string // sorted, oldest first
	files    []*localFile
	kinds    [numFileKinds]bool
}

// overviewProjects gathers every local file by project: baked, uploaded,
// and fetched through (for public projects, where a baked file of the same
// name does not hide it), the same files the simple pages list. With only
// set, it gathers that project's alone, so that a project page costs the
// files of one project, not of the whole wheelhouse.
func (s *Server) overviewProjects(only string) map[string]*overviewProject {
	byProject := map[string]*overviewProject{}
	add := func(lf *localFile) {
		p := byProject[lf.project]
		if p == nil {
			p = &overviewProject{name: lf.project, private: s.isPrivate(lf.project)}
			byProject[lf.project] = p
		}
		p.files = append(p.files, lf)
		p.versions = append(p.versions, lf.entry.Version)
		p.kinds[lf.kind] = true
	}
	pick := func(c *catalog) map[string][]*localFile {
		if only == "" {
			return c.projects
		}
		return map[string][]*localFile{only: c.projects[only]}
	}
	for _, fs := range pick(s.baked) {
		for _, lf := range fs {
			add(lf)
		}
	}
	s.cacheMu.RLock()
	for _, fs := range pick(s.uploaded) {
		for _, lf := range fs {
			if s.baked.files[lf.entry.Filename] == nil {
				add(lf)
			}
		}
	}
	for n, fs := range pick(s.cached) {
		if s.isPrivate(n) {
			continue
		}
		for _, lf := range fs {
			if s.baked.files[lf.entry.Filename] == nil {
				add(lf)
			}
		}
	}
	s.cacheMu.RUnlock()
	for _, p := range byProject {
		p.versions = sortVersions(p.versions)
		sort.Slice(p.files, func(i, j int) bool { return p.files[i].entry.Filename < p.files[j].entry.Filename })
	}
	return byProject
}

// upstreamLine says in words where the upstream is and how it is doing.
func (s *Server) upstreamLine() string {
	hu := s.Health().Upstream
	if s.up == nil {
		return "none: this server is offline and serves only its own files"
	}
	line := hu.URL + ": " + hu.State
	switch hu.State {
	case "ok":
		line += " (the circuit breaker is closed)"
	case "unknown":
		line += " (not contacted yet)"
	case "unreachable":
		line += " (the circuit breaker is open"
		if hu.RetryIn != "" {
			line += "; tried again in " + hu.RetryIn
		}
		line += ")"
	}
	if hu.LastSuccess != "" {
		line += "; last answered " + hu.LastSuccess
	}
	if hu.LastError != "" {
		line += "; last error: " + hu.LastError
	}
	return line
}

// bakeLine says which bake the server runs in, or "" outside one.
func (s *Server) bakeLine() string {
	b := s.o.bake
	var parts []string
	if b.lockSHA256 != "" {
		parts = append(parts, "lock sha256 "+b.lockSHA256)
	}
	if !b.baked.IsZero() {
		parts = append(parts, "baked "+b.baked.Format(time.RFC3339))
	}
	return strings.Join(parts, ", ")
}

// serveOverview answers "/": the projects, filtered by ?q= on the server
// so that a text browser or a page without JavaScript can search.
func (s *Server) serveOverview(w http.ResponseWriter, r *http.Request) {
	byProject := s.overviewProjects("")
	all := make([]*overviewProject, 0, len(byProject))
	for _, p := range byProject {
		all = append(all, p)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].name < all[j].name })
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(q) > 200 {
		q = q[:200]
	}
	// Names are compared normalized, so "Alpha_Tools" finds alpha-tools.
	needle := distname.NormalizeName(q)
	shown := all[:0:0]
	for _, p := range all {
		if needle == "" || strings.Contains(p.name, needle) {
			shown = append(shown, p)
		}
	}
	writeHTML(w, r, 'o', renderOverview(all, shown, q, s.upstreamLine(), indexURL(r), s.bakeLine(), s.drift()), false)
}

// serveProjectPage answers /project/<normalized>/ with a project's
// versions and files and where each file came from. Who uploaded a file
// is shown to a logged-in user only (as Artifactory and devpi do), never
// to an anonymous reader: ?login asks a browser for credentials.
func (s *Server) serveProjectPage(w http.ResponseWriter, r *http.Request, norm string) {
	p := s.overviewProjects(norm)[norm]
	if p == nil {
		http.NotFound(w, r)
		return
	}
	v := pageViewer{logins: s.checkAuth != nil}
	if v.logins {
		res := authMissing
		if _, _, ok := r.BasicAuth(); ok {
			_, res = s.checkAuth(r)
		}
		v.loggedIn = res == authOK
		if !v.loggedIn && r.URL.Query().Has("login") {
			challenge(w, res)
			return
		}
	}
	// The page depends on the credentials: no shared cache keeps a
	// logged-in user's for others.
	w.Header()["Vary"] = hdrVaryAuthorization
	writeHTML(w, r, 'p', renderProjectPage(p, indexURL(r), v), v.loggedIn)
}

// pageViewer is who a page for people is written for: whether the server
// takes logins, and whether the request's credentials are a user's.
type pageViewer struct{ logins, loggedIn bool }

var hdrVaryAuthorization = []string{"Authorization"}

// indexURL is the simple index's URL as a client of this request would
// write it, for the pip and uv lines; it is escaped where it is written.
func indexURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if host == "" || strings.ContainsAny(host, "/?#@ \t\r\n") {
		host = "127.0.0.1:3141"
	}
	return scheme + "://" + host + "/simple/"
}

// writeHTML answers with a page for people, or 304 when the client has it;
// a private page is for its client's cache only.
func writeHTML(w http.ResponseWriter, r *http.Request, prefix byte, body []byte, private bool) {
	h := w.Header()
	tag := etagOf(prefix, body)
	h.Set("ETag", tag)
	h.Set("Cache-Control", "no-cache")
	if private {
		h.Set("Cache-Control", "private, no-cache")
	}
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

// pageStyle keeps the pages readable on a phone and in a text browser: no
// external assets, no script; wide tables scroll inside their box.
const pageStyle = `    <style>
      body { font-family: system-ui, sans-serif; margin: 1em auto; padding: 0 1em; max-width: 72em; color: #222; }
      .scroll { overflow-x: auto; }
      table { border-collapse: collapse; width: 100%; }
      td, th { padding: 0.25em 0.6em; text-align: left; vertical-align: top; border-bottom: 1px solid #ddd; }
      code, pre { font-family: ui-monospace, monospace; font-size: 0.9em; }
      pre { background: #f4f4f4; padding: 0.6em; overflow-x: auto; }
      .sha { word-break: break-all; }
      .private { color: #a00; font-weight: bold; }
      .num { text-align: right; white-space: nowrap; }
      input[type=search] { font-size: 1em; padding: 0.3em; width: 16em; max-width: 60vw; }
    </style>
`

func pageHead(h *bytes.Buffer, title string) {
	h.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n  <head>\n    <meta charset=\"utf-8\">\n")
	h.WriteString("    <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	fmt.Fprintf(h, "    <title>%s</title>\n", html.EscapeString(title))
	h.WriteString(pageStyle)
	h.WriteString("  </head>\n  <body>\n")
}

// kindsOf names where a project's files came from.
func kindsOf(p *overviewProject) string {
	var ks []string
	for k, on := range p.kinds {
		if on {
			ks = append(ks, fileKind(k).String())
		}
	}
	return strings.Join(ks, ", ")
}

// renderOverview renders "/": the projects matching the filter q (shown,
// out of all), where each came from, and how to use the index.
func renderOverview(all, shown []*overviewProject, q, upstream, index, bake string, drift []driftRow) []byte {
	var h bytes.Buffer
	pageHead(&h, "larder index")
	h.WriteString("    <h1>larder index</h1>\n")
	files, total := 0, int64(0)
	for _, p := range all {
		files += len(p.files)
		for _, lf := range p.files {
			total += lf.entry.Size
		}
	}
	fmt.Fprintf(&h, "    <p>%d projects, %d files, %s. Simple index: <a href=\"simple/\">/simple/</a>. Health: <a href=\"-/healthz\">/-/healthz</a>. Metrics: <a href=\"metrics\">/metrics</a>.</p>\n",
		len(all), files, html.EscapeString(bytesize.Format(total)))
	if bake != "" {
		fmt.Fprintf(&h, "    <p class=\"bake\">Image: %s.</p>\n", html.EscapeString(bake))
	}
	fmt.Fprintf(&h, "    <p>Upstream: %s.</p>\n", html.EscapeString(upstream))
	h.WriteString("    <h2>Use this index</h2>\n")
	fmt.Fprintf(&h, "    <pre>pip install --index-url %s PACKAGE\nuv pip install --index-url %s PACKAGE\nexport PIP_INDEX_URL=%s UV_DEFAULT_INDEX=%s</pre>\n",
		html.EscapeString(index), html.EscapeString(index), html.EscapeString(index), html.EscapeString(index))
	h.WriteString("    <h2>Projects</h2>\n")
	h.WriteString("    <form method=\"get\" action=\"./\" role=\"search\">\n")
	fmt.Fprintf(&h, "      <label for=\"q\">Filter by name</label> <input type=\"search\" id=\"q\" name=\"q\" value=\"%s\"> <button type=\"submit\">Filter</button>\n", html.EscapeString(q))
	h.WriteString("    </form>\n")
	if q != "" {
		fmt.Fprintf(&h, "    <p>%d of %d projects match &ldquo;%s&rdquo;. <a href=\"./\">Show all</a>.</p>\n", len(shown), len(all), html.EscapeString(q))
	}
	h.WriteString("    <div class=\"scroll\">\n    <table>\n")
	h.WriteString("      <thead><tr><th>project</th><th>latest</th><th>versions</th><th class=\"num\">files</th><th>origin</th></tr></thead>\n      <tbody>\n")
	for _, p := range shown {
		fmt.Fprintf(&h, "        <tr class=\"project\"><td><a href=\"project/%s/\">%s</a>", url.PathEscape(p.name), html.EscapeString(p.name))
		if p.private {
			h.WriteString(` <span class="private">private</span>`)
		}
		latest := ""
		if len(p.versions) > 0 {
			latest = p.versions[len(p.versions)-1]
		}
		fmt.Fprintf(&h, "</td><td>%s</td><td>%d</td><td class=\"num\">%d</td><td>%s</td></tr>\n",
			html.EscapeString(latest), len(p.versions), len(p.files), html.EscapeString(kindsOf(p)))
	}
	h.WriteString("      </tbody>\n    </table>\n    </div>\n")
	if len(drift) > 0 {
		// Only pages clients asked for are known: the list is what the
		// cache holds, not a survey of the upstream.
		h.WriteString("    <h2>Newer upstream</h2>\n")
		h.WriteString("    <p>Baked public projects whose upstream page, as last fetched, offers a newer final release.</p>\n")
		h.WriteString("    <div class=\"scroll\">\n    <table>\n")
		h.WriteString("      <thead><tr><th>project</th><th>baked</th><th>upstream</th></tr></thead>\n      <tbody>\n")
		for _, d := range drift {
			fmt.Fprintf(&h, "        <tr class=\"drift\"><td><a href=\"project/%s/\">%s</a></td><td>%s</td><td>%s</td></tr>\n",
				url.PathEscape(d.project), html.EscapeString(d.project), html.EscapeString(d.baked), html.EscapeString(d.upstream))
		}
		h.WriteString("      </tbody>\n    </table>\n    </div>\n")
	}
	h.WriteString("  </body>\n</html>\n")
	return h.Bytes()
}

// provenance says in words where a file came from; who uploaded it only
// with showUploader.
func provenance(lf *localFile, showUploader bool) string {
	o := lf.entry.Origin
	var parts []string
	switch lf.kind {
	case kindFork:
		parts = append(parts, "built from "+strings.TrimSpace(o.URL+" "+shortCommit(o.Commit)))
	case kindSdist:
		parts = append(parts, "built from the sdist "+o.Sdist)
		if o.SdistSHA256 != "" {
			parts = append(parts, "sha256 "+o.SdistSHA256)
		}
	case kindUploaded:
		who := o.Uploader
		switch {
		case !showUploader:
			parts = append(parts, "uploaded")
		case who == "":
			parts = append(parts, "uploaded by an anonymous user")
		default:
			parts = append(parts, "uploaded by "+who)
		}
	case kindFetched:
		parts = append(parts, "fetched through from the upstream")
	default:
		parts = append(parts, "baked")
	}
	if o.Index != "" && lf.kind != kindUploaded {
		parts = append(parts, "listed on "+o.Index)
	}
	if o.URL != "" && (lf.kind == kindBaked || lf.kind == kindFetched) {
		parts = append(parts, "from "+o.URL)
	}
	return strings.Join(parts, "; ")
}

// renderProjectPage renders a project's page: its versions, newest first,
// and for each file its size, sha256, upload time, yanked state and origin,
// naming who uploaded a file only to a logged-in viewer.
func renderProjectPage(p *overviewProject, index string, viewer pageViewer) []byte {
	var h bytes.Buffer
	pageHead(&h, p.name+" - larder index")
	h.WriteString("    <p><a href=\"../../\">larder index</a></p>\n")
	fmt.Fprintf(&h, "    <h1>%s</h1>\n", html.EscapeString(p.name))
	fmt.Fprintf(&h, "    <p>%d versions, %d files; %s.", len(p.versions), len(p.files), html.EscapeString(kindsOf(p)))
	if p.private {
		h.WriteString(" <span class=\"private\">private</span>: never looked up upstream.")
	}
	fmt.Fprintf(&h, " Simple page: <a href=\"../../simple/%s/\">/simple/%s/</a>.</p>\n", url.PathEscape(p.name), html.EscapeString(p.name))
	fmt.Fprintf(&h, "    <pre>pip install --index-url %s %s</pre>\n", html.EscapeString(index), html.EscapeString(p.name))
	if viewer.logins && !viewer.loggedIn && p.kinds[kindUploaded] {
		// Not a link: every link of a page answers 200 to whoever reads it.
		h.WriteString("    <p>Who uploaded each file is shown to users of this index once logged in: add <code>?login</code> to this page's address.</p>\n")
	}
	for i := len(p.versions) - 1; i >= 0; i-- {
		v := p.versions[i]
		fmt.Fprintf(&h, "    <h2 id=\"v-%s\">%s</h2>\n", html.EscapeString(url.PathEscape(v)), html.EscapeString(v))
		h.WriteString("    <div class=\"scroll\">\n    <table>\n")
		h.WriteString("      <thead><tr><th>file</th><th class=\"num\">size</th><th>sha256</th><th>uploaded</th><th>yanked</th><th>provenance</th></tr></thead>\n      <tbody>\n")
		for _, lf := range p.files {
			if lf.entry.Version != v {
				continue
			}
			e := lf.entry
			up := ""
			if !e.UploadTime.IsZero() {
				up = e.UploadTime.UTC().Format(time.DateTime) + " UTC"
			}
			fmt.Fprintf(&h, "        <tr><td><a href=\"../../files/%s\">%s</a></td><td class=\"num\">%s</td><td class=\"sha\"><code>%s</code></td><td>%s</td><td>no</td><td>%s</td></tr>\n",
				url.PathEscape(e.Filename), html.EscapeString(e.Filename), html.EscapeString(bytesize.Format(e.Size)),
				html.EscapeString(e.SHA256), html.EscapeString(up), html.EscapeString(provenance(lf, viewer.loggedIn)))
		}
		h.WriteString("      </tbody>\n    </table>\n    </div>\n")
	}
	h.WriteString("  </body>\n</html>\n")
	return h.Bytes()
}
