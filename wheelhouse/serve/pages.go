package serve

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// listing is what a project page says, before it is rendered.
type listing struct {
	name     string // normalized
	rows     []row
	versions []string
}

// page is a rendered index page in both forms, with their validators.
// The header values are kept as the slices an http.Header holds, so that
// answering with a page allocates nothing.
type page struct {
	html, json       []byte
	htmlTag, jsonTag string

	htmlTagHdr, jsonTagHdr []string
	htmlLenHdr, jsonLenHdr []string
}

func newPage(h, j []byte) *page {
	p := &page{html: h, json: j, htmlTag: etagOf('h', h), jsonTag: etagOf('j', j)}
	p.htmlTagHdr, p.jsonTagHdr = []string{p.htmlTag}, []string{p.jsonTag}
	p.htmlLenHdr, p.jsonLenHdr = []string{strconv.Itoa(len(h))}, []string{strconv.Itoa(len(j))}
	return p
}

// etagOf is a strong validator for a body; the prefix keeps the two forms
// of a page apart, since they share a URL.
func etagOf(prefix byte, body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + string(prefix) + hex.EncodeToString(sum[:16]) + `"`
}

// apiVersion is "1.1" (PEP 700: versions, size, upload-time) when every
// size is known, else "1.0", which does not promise them.
func apiVersion(rows []row) string {
	for _, r := range rows {
		if r.size < 0 {
			return "1.0"
		}
	}
	return "1.1"
}

func htmlHead(w *bytes.Buffer, version, title string) {
	w.WriteString("<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"")
	w.WriteString(version)
	w.WriteString("\">\n    <title>")
	w.WriteString(html.EscapeString(title))
	w.WriteString("</title>\n  </head>\n  <body>\n")
}

func fileHref(filename string) string { return "../../files/" + url.PathEscape(filename) }

func renderProject(l *listing) *page {
	version := apiVersion(l.rows)
	var h bytes.Buffer
	htmlHead(&h, version, "Links for "+l.name)
	fmt.Fprintf(&h, "    <h1>Links for %s</h1>\n", html.EscapeString(l.name))
	for _, r := range l.rows {
		h.WriteString("    <a href=\"")
		h.WriteString(html.EscapeString(fileHref(r.filename)))
		if r.sha256 != "" {
			h.WriteString("#sha256=")
			h.WriteString(r.sha256)
		}
		h.WriteByte('"')
		if r.requiresPython != "" {
			h.WriteString(" data-requires-python=\"")
			h.WriteString(html.EscapeString(r.requiresPython))
			h.WriteByte('"')
		}
		if r.yanked {
			h.WriteString(" data-yanked=\"")
			h.WriteString(html.EscapeString(r.yankedReason))
			h.WriteByte('"')
		}
		if r.meta {
			v := "true"
			if r.metaSHA != "" {
				v = "sha256=" + r.metaSHA
			}
			// Only the PEP 714 name: see wheelhouse.WriteStatic for the
			// pips that the old one breaks.
			fmt.Fprintf(&h, " data-core-metadata=\"%s\"", v)
		}
		h.WriteByte('>')
		h.WriteString(html.EscapeString(r.filename))
		h.WriteString("</a><br/>\n")
	}
	h.WriteString("  </body>\n</html>\n")

	type jsonFile struct {
		Filename       string            `json:"filename"`
		URL            string            `json:"url"`
		Hashes         map[string]string `json:"hashes"`
		RequiresPython string            `json:"requires-python,omitempty"`
		Yanked         any               `json:"yanked"`
		CoreMetadata   any               `json:"core-metadata,omitempty"`
		Size           *int64            `json:"size,omitempty"`
		UploadTime     string            `json:"upload-time,omitempty"`
	}
	doc := struct {
		Meta     map[string]string `json:"meta"`
		Name     string            `json:"name"`
		Versions []string          `json:"versions,omitempty"`
		Files    []jsonFile        `json:"files"`
	}{Meta: map[string]string{"api-version": version}, Name: l.name, Files: make([]jsonFile, 0, len(l.rows))}
	if version == "1.1" {
		doc.Versions = append(make([]string, 0, len(l.versions)), l.versions...)
	}
	for _, r := range l.rows {
		jf := jsonFile{Filename: r.filename, URL: fileHref(r.filename), Hashes: map[string]string{}, RequiresPython: r.requiresPython, Yanked: false}
		if r.sha256 != "" {
			jf.Hashes["sha256"] = r.sha256
		}
		if r.yanked {
			jf.Yanked = true
			if r.yankedReason != "" {
				jf.Yanked = r.yankedReason
			}
		}
		// Only the PEP 714 key in JSON: pip 22.3 to 23.1 crash on the old
		// "dist-info-metadata" key, and PEP 714 forbids it there.
		if r.meta {
			jf.CoreMetadata = true
			if r.metaSHA != "" {
				jf.CoreMetadata = map[string]string{"sha256": r.metaSHA}
			}
		}
		if r.size >= 0 {
			size := r.size
			jf.Size = &size
		}
		if !r.uploadTime.IsZero() {
			jf.UploadTime = r.uploadTime.UTC().Format("2006-01-02T15:04:05.000000Z")
		}
		doc.Files = append(doc.Files, jf)
	}
	return newPage(h.Bytes(), marshal(doc))
}

// renderRoot renders the project list; names are normalized and sorted.
func renderRoot(names []string) *page {
	var h bytes.Buffer
	htmlHead(&h, "1.0", "Simple index")
	for _, n := range names {
		fmt.Fprintf(&h, "    <a href=\"%s/\">%s</a><br/>\n", url.PathEscape(n), html.EscapeString(n))
	}
	h.WriteString("  </body>\n</html>\n")
	type project struct {
		Name string `json:"name"`
	}
	doc := struct {
		Meta     map[string]string `json:"meta"`
		Projects []project         `json:"projects"`
	}{Meta: map[string]string{"api-version": "1.0"}, Projects: make([]project, 0, len(names))}
	for _, n := range names {
		doc.Projects = append(doc.Projects, project{n})
	}
	return newPage(h.Bytes(), marshal(doc))
}

func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	// Specifiers such as "<4" read better unescaped, and JSON allows it.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only strings, numbers, booleans and maps of strings get here.
		return []byte(`{"error": ` + strconv.Quote(err.Error()) + "}\n")
	}
	return b.Bytes()
}

// versionLess orders version strings for people: runs of digits compare as
// numbers, everything else as text. It is not PEP 440 ordering, which only
// clients need.
func versionLess(a, b string) bool {
	for a != "" && b != "" {
		ca, ra := chunk(a)
		cb, rb := chunk(b)
		if ca != cb {
			da, db := isDigits(ca), isDigits(cb)
			switch {
			case da && db:
				na, nb := strings.TrimLeft(ca, "0"), strings.TrimLeft(cb, "0")
				if len(na) != len(nb) {
					return len(na) < len(nb)
				}
				if na != nb {
					return na < nb
				}
			case da != db:
				return !da // "1.0rc1" < "1.0.1": text before digits
			default:
				return ca < cb
			}
		}
		a, b = ra, rb
	}
	return len(a) < len(b)
}

func chunk(s string) (string, string) {
	d := s[0] >= '0' && s[0] <= '9'
	i := 1
	for i < len(s) && (s[i] >= '0' && s[i] <= '9') == d {
		i++
	}
	return s[:i], s[i:]
}

func isDigits(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }

// sortVersions sorts and dedupes version strings in place.
func sortVersions(vs []string) []string {
	sort.Slice(vs, func(i, j int) bool { return versionLess(vs[i], vs[j]) })
	out := vs[:0]
	for i, v := range vs {
		if i == 0 || v != vs[i-1] {
			out = append(out, v)
		}
	}
	return out
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
