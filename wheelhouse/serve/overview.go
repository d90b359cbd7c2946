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
)

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

// humanBytes formats a size as people read download sizes.
func humanBytes(n int64) string {
	switch {
	case n < 0:
		return "?"
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

// overviewFile and overviewProject feed the page for people.
type overviewFile struct {
	filename string
	size     int64
	kind     string
	detail   string // e.g. the fork's repository and commit
}

type overviewProject struct {
	name     string
	private  bool
	versions []string
	files    map[string][]overviewFile // by version
}

// renderOverview renders "/": every project with its versions and files,
// and where each file came from.
func renderOverview(projects []overviewProject, files int, bytesTotal int64, upstream string) []byte {
	var h bytes.Buffer
	h.WriteString(`<!DOCTYPE html>
<html>
  <head>
    <meta charset="utf-8">
    <title>larder index</title>
    <style>
      body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
      table { border-collapse: collapse; }
      td, th { padding: 0.15em 0.8em; text-align: left; vertical-align: top; }
      tr.project td { border-top: 1px solid #ccc; padding-top: 0.5em; }
      .private { color: #a00; font-weight: bold; }
      .kind { color: #555; }
      .size { text-align: right; white-space: nowrap; }
    </style>
  </head>
  <body>
    <h1>larder index</h1>
`)
	fmt.Fprintf(&h, "    <p>%d projects, %d files, %s. Simple index: <a href=\"simple/\">/simple/</a>. Upstream: %s. Health: <a href=\"-/healthz\">/-/healthz</a>.</p>\n",
		len(projects), files, html.EscapeString(humanBytes(bytesTotal)), html.EscapeString(upstream))
	h.WriteString("    <table>\n      <tr><th>project</th><th>version</th><th>file</th><th class=\"size\">size</th><th>origin</th></tr>\n")
	for _, p := range projects {
		first := true
		for _, v := range p.versions {
			for _, f := range p.files[v] {
				h.WriteString("      <tr")
				if first {
					h.WriteString(` class="project"`)
				}
				h.WriteString("><td>")
				if first {
					fmt.Fprintf(&h, "<a href=\"simple/%s/\">%s</a>", url.PathEscape(p.name), html.EscapeString(p.name))
					if p.private {
						h.WriteString(` <span class="private">private</span>`)
					}
				}
				fmt.Fprintf(&h, "</td><td>%s</td><td><a href=\"files/%s\">%s</a></td><td class=\"size\">%s</td><td class=\"kind\">%s",
					html.EscapeString(v), url.PathEscape(f.filename), html.EscapeString(f.filename), html.EscapeString(humanBytes(f.size)), html.EscapeString(f.kind))
				if f.detail != "" {
					fmt.Fprintf(&h, " (%s)", html.EscapeString(f.detail))
				}
				h.WriteString("</td></tr>\n")
				first = false
			}
		}
	}
	h.WriteString("    </table>\n")
	h.WriteString("  </body>\n</html>\n")
	return h.Bytes()
}
