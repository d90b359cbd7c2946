package simple

import (
	"bytes"
	"encoding/json"
	"io"
	"iter"
	"net/url"
	"sort"
	"strconv"
	"sync"
)

// chunkSize is what a writer gathers before it writes.
const chunkSize = 16 << 10

// chunks are writers' buffers, used again from page to page: a static
// index writes hundreds of small pages at a bake, each of which would
// otherwise allocate and clear a chunk of its own.
var chunks = sync.Pool{New: func() any { b := make([]byte, 0, chunkSize+4<<10); return &b }}

// uploadTimeLayout is PEP 700's upload-time, with microseconds.
const uploadTimeLayout = "2006-01-02T15:04:05.000000Z"

// ProjectWriter writes a project page as a stream, one file at a time, in
// chunks: a page of many files is never held. The first error sticks.
type ProjectWriter struct {
	w    io.Writer
	form Format
	b    []byte
	n    int
	err  error
}

// NewProjectWriter starts a project page in the given form. versions (PEP
// 700) are written in the JSON form of API version 1.1 or later, when
// there are any; nil is none.
func NewProjectWriter(w io.Writer, form Format, name, apiVersion string, versions iter.Seq[string]) *ProjectWriter {
	p := &ProjectWriter{w: w, form: form, b: (*chunks.Get().(*[]byte))[:0]}
	if form == HTML {
		p.b = appendHTMLHead(p.b, apiVersion, "Links for "+name)
		p.b = append(p.b, "    <h1>Links for "...)
		p.b = appendHTMLEscaped(p.b, name)
		p.b = append(p.b, "</h1>\n"...)
		return p
	}
	p.b = append(p.b, `{"meta":{"api-version":`...)
	p.b = appendJSONString(p.b, apiVersion)
	p.b = append(p.b, `},"name":`...)
	p.b = appendJSONString(p.b, name)
	if versions != nil && apiVersion != "1.0" {
		n := 0
		for v := range versions {
			if n == 0 {
				p.b = append(p.b, `,"versions":[`...)
			} else {
				p.b = append(p.b, ',')
			}
			p.b = appendJSONString(p.b, v)
			if n++; n%256 == 0 {
				if p.writeIfFull(); p.err != nil {
					break
				}
			}
		}
		if n > 0 {
			p.b = append(p.b, ']')
		}
	}
	p.b = append(p.b, `,"files":[`...)
	return p
}

// File writes one file of the page. f.URL is written as it is: relative
// links resolve against the page's URL.
func (p *ProjectWriter) File(f *File) error {
	if p.err != nil {
		return p.err
	}
	if p.form == HTML {
		p.b = appendHTMLAnchor(p.b, f)
	} else {
		if p.n > 0 {
			p.b = append(p.b, ',')
		}
		p.b = appendJSONFile(p.b, f)
	}
	p.n++
	p.writeIfFull()
	return p.err
}

// Close ends the page and writes what is left of it. The writer is not
// used after.
func (p *ProjectWriter) Close() error {
	if p.form == HTML {
		p.b = append(p.b, "  </body>\n</html>\n"...)
	} else {
		p.b = append(p.b, "]}\n"...)
	}
	err := p.flush()
	if b := p.b[:0]; cap(b) > 0 {
		p.b = nil
		chunks.Put(&b)
	}
	return err
}

func (p *ProjectWriter) writeIfFull() {
	if len(p.b) >= chunkSize {
		p.flush()
	}
}

func (p *ProjectWriter) flush() error {
	if p.err == nil && len(p.b) > 0 {
		_, p.err = p.w.Write(p.b)
	}
	p.b = p.b[:0]
	return p.err
}

// WriteProjectList writes the root page of an index: a link to each
// project's page, "NAME/" relative to the root.
func WriteProjectList(w io.Writer, form Format, apiVersion string, names []string) error {
	var b []byte
	if form == HTML {
		b = appendHTMLHead(b, apiVersion, "Simple index")
		for _, n := range names {
			b = append(b, "    <a href=\""...)
			b = appendHTMLEscaped(b, url.PathEscape(n))
			b = append(b, "/\">"...)
			b = appendHTMLEscaped(b, n)
			b = append(b, "</a><br/>\n"...)
		}
		b = append(b, "  </body>\n</html>\n"...)
	} else {
		b = append(b, `{"meta":{"api-version":`...)
		b = appendJSONString(b, apiVersion)
		b = append(b, `},"projects":[`...)
		for i, n := range names {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = appendJSONString(b, n)
			b = append(b, '}')
		}
		b = append(b, "]}\n"...)
	}
	_, err := w.Write(b)
	return err
}

func appendHTMLHead(b []byte, version, title string) []byte {
	b = append(b, "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\""...)
	b = appendHTMLEscaped(b, version)
	b = append(b, "\">\n    <title>"...)
	b = appendHTMLEscaped(b, title)
	return append(b, "</title>\n  </head>\n  <body>\n"...)
}

// firstHash returns the hash a link's fragment carries: sha256 when there
// is one, else the first algorithm by name.
func firstHash(h map[string]string) (alg, digest string) {
	if d, ok := h["sha256"]; ok {
		return "sha256", d
	}
	for a, d := range h {
		if alg == "" || a < alg {
			alg, digest = a, d
		}
	}
	return alg, digest
}

func appendHTMLAnchor(b []byte, f *File) []byte {
	b = append(b, "    <a href=\""...)
	b = appendHTMLEscaped(b, f.URL)
	if alg, d := firstHash(f.Hashes); d != "" {
		b = append(b, '#')
		b = appendHTMLEscaped(b, alg)
		b = append(b, '=')
		b = appendHTMLEscaped(b, d)
	}
	b = append(b, '"')
	if f.RequiresPython != "" {
		b = append(b, " data-requires-python=\""...)
		b = appendHTMLEscaped(b, f.RequiresPython)
		b = append(b, '"')
	}
	if f.Yanked {
		b = append(b, " data-yanked=\""...)
		b = appendHTMLEscaped(b, f.YankedReason)
		b = append(b, '"')
	}
	if f.CoreMetadata {
		// Only the PEP 714 names, data-core-metadata here and
		// "core-metadata" in JSON. pip 22.3 to 23.0 (Debian 12's pip is
		// 23.0.1) read the old data-dist-info-metadata and then reject
		// every file whose metadata Name is spelled unlike the requirement
		// ("Django" for django==5.2), so the old name would break them;
		// without it they read the wheel itself. pip 22.3 to 23.1 crash on
		// the old JSON key, and PEP 714 forbids it there.
		b = append(b, " data-core-metadata=\""...)
		if alg, d := firstHash(f.MetadataHashes); d != "" {
			b = appendHTMLEscaped(b, alg)
			b = append(b, '=')
			b = appendHTMLEscaped(b, d)
		} else {
			b = append(b, "true"...)
		}
		b = append(b, '"')
	}
	b = append(b, '>')
	b = appendHTMLEscaped(b, f.Filename)
	return append(b, "</a><br/>\n"...)
}

// appendJSONHashes appends a table of hashes, sorted by algorithm.
func appendJSONHashes(b []byte, h map[string]string) []byte {
	b = append(b, '{')
	if d, ok := h["sha256"]; ok && len(h) == 1 {
		b = append(b, `"sha256":`...)
		b = appendJSONString(b, d)
		return append(b, '}')
	}
	algs := make([]string, 0, len(h))
	for a := range h {
		algs = append(algs, a)
	}
	sort.Strings(algs)
	for i, a := range algs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, a)
		b = append(b, ':')
		b = appendJSONString(b, h[a])
	}
	return append(b, '}')
}

// appendJSONFile appends one PEP 691 entry, as encoding/json would
// marshal it with HTML escaping off.
func appendJSONFile(b []byte, f *File) []byte {
	b = append(b, `{"filename":`...)
	b = appendJSONString(b, f.Filename)
	b = append(b, `,"url":`...)
	b = appendJSONString(b, f.URL)
	b = append(b, `,"hashes":`...)
	b = appendJSONHashes(b, f.Hashes)
	if f.RequiresPython != "" {
		b = append(b, `,"requires-python":`...)
		b = appendJSONString(b, f.RequiresPython)
	}
	b = append(b, `,"yanked":`...)
	switch {
	case !f.Yanked:
		b = append(b, "false"...)
	case f.YankedReason == "":
		b = append(b, "true"...)
	default:
		b = appendJSONString(b, f.YankedReason)
	}
	// Only the PEP 714 key: see appendHTMLAnchor.
	if f.CoreMetadata {
		b = append(b, `,"core-metadata":`...)
		if len(f.MetadataHashes) > 0 {
			b = appendJSONHashes(b, f.MetadataHashes)
		} else {
			b = append(b, "true"...)
		}
	}
	if f.Size >= 0 {
		b = append(b, `,"size":`...)
		b = strconv.AppendInt(b, f.Size, 10)
	}
	if !f.UploadTime.IsZero() {
		// The layout's digits, dashes and colons need no escaping.
		b = append(b, `,"upload-time":"`...)
		b = f.UploadTime.UTC().AppendFormat(b, uploadTimeLayout)
		b = append(b, '"')
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string, as encoding/json writes
// it with HTML escaping off.
func appendJSONString(b []byte, s string) []byte { return AppendJSONString(b, s, false) }

// AppendJSONString appends s as a JSON string exactly as encoding/json
// writes it, with its HTML escaping of <, > and & on or off. Printable
// ASCII, and the escapes encoding/json uses for it, are written here; a
// string holding any other byte goes through encoding/json itself.
func AppendJSONString(b []byte, s string, escapeHTML bool) []byte {
	n := len(b)
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e:
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(escapeHTML)
			enc.Encode(s) // a string always encodes
			return append(b[:n], bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})...)
		case c == '"':
			esc = `\"`
		case c == '\\':
			esc = `\\`
		case escapeHTML && c == '<':
			esc = `\u003c`
		case escapeHTML && c == '>':
			esc = `\u003e`
		case escapeHTML && c == '&':
			esc = `\u0026`
		default:
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, esc...)
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendHTMLEscaped appends s escaped as html.EscapeString escapes it.
func appendHTMLEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			b = append(b, "&amp;"...)
		case '\'':
			b = append(b, "&#39;"...)
		case '<':
			b = append(b, "&lt;"...)
		case '>':
			b = append(b, "&gt;"...)
		case '"':
			b = append(b, "&#34;"...)
		default:
			b = append(b, c)
		}
	}
	return b
}
