package serve

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"iter"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/larder-build/larder/resolver/simple"
)

// listing is what a project page lists: local files and an upstream
// page's, merged in file name order as the page is written, so that a page
// of many files is never copied for a request.
type listing struct {
	name     string        // normalized
	rows     []row         // local files, sorted by file name
	versions []string      // their versions, sorted
	up       *upstreamPage // nil, or a page whose files are sorted by name
}

// files yields the page's files in file name order; a local file hides
// the upstream's of the same name.
func (l *listing) files(yield func(row) bool) {
	rows := l.rows
	var ups []*upstreamFile
	if l.up != nil {
		ups = l.up.files
	}
	for len(rows) > 0 || len(ups) > 0 {
		var r row
		switch {
		case len(ups) == 0 || len(rows) > 0 && rows[0].filename <= ups[0].filename:
			if len(ups) > 0 && rows[0].filename == ups[0].filename {
				ups = ups[1:]
			}
			r, rows = rows[0], rows[1:]
		default:
			r, ups = ups[0].row(), ups[1:]
		}
		if !yield(r) {
			return
		}
	}
}

// allVersions yields the page's versions in order, each once.
func (l *listing) allVersions(yield func(string) bool) {
	a := l.versions
	var b []string
	if l.up != nil {
		b = l.up.versions
	}
	last := ""
	for first := true; len(a) > 0 || len(b) > 0; first = false {
		var v string
		if len(b) == 0 || len(a) > 0 && !versionLess(b[0], a[0]) {
			v, a = a[0], a[1:]
		} else {
			v, b = b[0], b[1:]
		}
		if !first && v == last {
			continue
		}
		last = v
		if !yield(v) {
			return
		}
	}
}

// apiVersion is "1.1" (PEP 700: versions, size, upload-time) when every
// size is known, else "1.0", which does not promise them.
func (l *listing) apiVersion() string {
	for r := range l.files {
		if r.size < 0 {
			return "1.0"
		}
	}
	return "1.1"
}

// page is a rendered index page in both forms, with their validators,
// and their bodies unless the page is too large to keep: then it is
// written from its listing whenever it is asked for. The header values are
// kept as the slices an http.Header holds, so that answering with a page
// allocates nothing.
type page struct {
	html, json       []byte
	kept             bool
	htmlTag, jsonTag string

	htmlTagHdr, jsonTagHdr []string
	htmlLenHdr, jsonLenHdr []string
}

func newPage(h, j []byte) *page {
	return newPageOf(h, j, etagOf('h', h), etagOf('j', j), len(h), len(j))
}

// newPageOf makes a page of its two bodies, nil when not kept.
func newPageOf(h, j []byte, htmlTag, jsonTag string, htmlLen, jsonLen int) *page {
	p := &page{html: h, json: j, kept: h != nil && j != nil, htmlTag: htmlTag, jsonTag: jsonTag}
	if !p.kept {
		p.html, p.json = nil, nil
	}
	p.htmlTagHdr, p.jsonTagHdr = []string{p.htmlTag}, []string{p.jsonTag}
	p.htmlLenHdr, p.jsonLenHdr = []string{strconv.Itoa(htmlLen)}, []string{strconv.Itoa(jsonLen)}
	return p
}

// etagOf is a strong validator for a body; the prefix keeps the two forms
// of a page apart, since they share a URL.
func etagOf(prefix byte, body []byte) string {
	sum := sha256.Sum256(body)
	return tagOfSum(prefix, sum[:])
}

func tagOfSum(prefix byte, sum []byte) string {
	return `"` + string(prefix) + hex.EncodeToString(sum[:16]) + `"`
}

// renderProject renders both forms of a project page, keeping a body only
// while it is at most keep bytes: a page without its bodies has its
// validators, and is written from its listing whenever it is asked for.
func renderProject(l *listing, keep int) *page {
	h, j := newBodySink(keep), newBodySink(keep)
	writeProject(h, formatHTML, l)
	writeProject(j, formatJSON, l)
	return newPageOf(h.body, j.body, tagOfSum('h', h.h.Sum(nil)), tagOfSum('j', j.h.Sum(nil)), h.n, j.n)
}

// writeProject writes one form of a project page as a stream.
func writeProject(w io.Writer, f format, l *listing) error {
	form := simple.HTML
	if f == formatJSON {
		form = simple.JSON
	}
	version := l.apiVersion()
	var versions iter.Seq[string]
	if version == "1.1" {
		versions = l.allVersions
	}
	pw := simple.NewProjectWriter(w, form, l.name, version, versions)
	// One File and its maps serve every row: a page may list tens of
	// thousands of files, and is written at every request when not kept.
	var sf simple.File
	hashes, metaHashes := map[string]string{}, map[string]string{}
	for r := range l.files {
		r.simpleFile(&sf, hashes, metaHashes)
		if pw.File(&sf) != nil {
			break
		}
	}
	return pw.Close()
}

// simpleFile fills f with the row, in the given maps.
func (r *row) simpleFile(f *simple.File, hashes, metaHashes map[string]string) {
	*f = simple.File{Filename: r.filename, URL: "../../files/" + url.PathEscape(r.filename),
		RequiresPython: r.requiresPython, Yanked: r.yanked, YankedReason: r.yankedReason,
		CoreMetadata: r.meta, Size: r.size, UploadTime: r.uploadTime}
	if r.sha256 != "" {
		hashes["sha256"] = r.sha256
		f.Hashes = hashes
	}
	if r.metaSHA != "" {
		metaHashes["sha256"] = r.metaSHA
		f.MetadataHashes = metaHashes
	}
}

// bodySink takes a page body as it is written: it hashes and counts it
// for the page's validators, and keeps it while it is at most keep bytes.
type bodySink struct {
	h    hash.Hash
	n    int
	keep int
	body []byte // nil once the body is longer than keep
}

func newBodySink(keep int) *bodySink {
	return &bodySink{h: sha256.New(), keep: keep, body: []byte{}}
}

func (s *bodySink) Write(p []byte) (int, error) {
	s.h.Write(p)
	s.n += len(p)
	if s.body != nil && s.n <= s.keep {
		s.body = append(s.body, p...)
	} else {
		s.body = nil
	}
	return len(p), nil
}

// renderRoot renders the project list; names are normalized and sorted.
func renderRoot(names []string) *page {
	var h, j bytes.Buffer
	// Writing to a buffer does not fail.
	simple.WriteProjectList(&h, simple.HTML, "1.0", names)
	simple.WriteProjectList(&j, simple.JSON, "1.0", names)
	return newPage(h.Bytes(), j.Bytes())
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
