package serve

// This file keeps the renderer that built each page as a tree of structs
// and maps and marshalled it, before pages were written as a stream: the
// streamed pages must come out byte for byte the same.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

func renderProjectAsTree(name string, rows []row, versions []string) (htmlBody, jsonBody []byte) {
	version := apiVersion(rows)
	var h bytes.Buffer
	htmlHeadAsTree(&h, version, "Links for "+name)
	fmt.Fprintf(&h, "    <h1>Links for %s</h1>\n", html.EscapeString(name))
	for _, r := range rows {
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
	}{Meta: map[string]string{"api-version": version}, Name: name, Files: make([]jsonFile, 0, len(rows))}
	if version == "1.1" {
		doc.Versions = append(make([]string, 0, len(versions)), versions...)
	}
	for _, r := range rows {
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
	return h.Bytes(), marshal(doc)
}

func htmlHeadAsTree(w *bytes.Buffer, version, title string) {
	w.WriteString("<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"")
	w.WriteString(version)
	w.WriteString("\">\n    <title>")
	w.WriteString(html.EscapeString(title))
	w.WriteString("</title>\n  </head>\n  <body>\n")
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

func fileHref(filename string) string { return "../../files/" + url.PathEscape(filename) }

// treeListing is what the tree renderer was given for a listing: every
// row, sorted, a local file hiding the upstream's of its name, and every
// version.
func treeListing(l *listing) ([]row, []string) {
	rows := append([]row(nil), l.rows...)
	versions := append([]string(nil), l.versions...)
	if l.up != nil {
		local := map[string]bool{}
		for _, r := range l.rows {
			local[r.filename] = true
		}
		for _, f := range l.up.files {
			if !local[f.filename] {
				rows = append(rows, f.row())
			}
		}
		versions = append(versions, l.up.versions...)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].filename < rows[j].filename })
	return rows, sortVersions(versions)
}

func TestStreamedPagesAreByteForByteTheTreeRendering(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	when := time.Date(2024, 2, 29, 23, 59, 58, 123456789, time.FixedZone("X", 5*3600))
	odd := []string{"", `<4,>=3.8 & "quoted" 'single'`, "caf\u00e9 \u2028 \u2029 \U0001F600", "bad \xff\xfe utf-8", "ctl \x00\x01\x08\x0c\n\r\t\x1f\x7f", `back\slash "q"`, "a</script><!--"}
	upFile := func(name string, size int64) *upstreamFile {
		return &upstreamFile{filename: name, url: "https://files.example/" + name, size: size}
	}
	page := func(versions []string, files ...*upstreamFile) *upstreamPage {
		slices.SortFunc(files, func(a, b *upstreamFile) int { return strings.Compare(a.filename, b.filename) })
		return &upstreamPage{id: 1, found: true, files: files, versions: versions}
	}
	var odds []row
	for i, s := range odd {
		odds = append(odds, row{filename: fmt.Sprintf("odd-%d.%d+local %s&%%.tar.gz", i, i, s), requiresPython: s, yanked: i%2 == 1, yankedReason: s,
			meta: i%3 != 0, metaSHA: map[bool]string{true: sha}[i%3 == 1], size: int64(i) - 1, uploadTime: map[bool]time.Time{true: when}[i%2 == 0]})
	}
	var many []*upstreamFile
	var manyVersions []string
	for i := range 5000 {
		f := upFile(fmt.Sprintf("many-%d.tar.gz", i), int64(i))
		f.sha256 = sha
		many = append(many, f)
		manyVersions = append(manyVersions, strconv.Itoa(i))
	}
	cases := []struct {
		name string
		l    *listing
	}{
		{"empty", &listing{name: "nothing"}},
		{"local", &listing{name: "alpha", rows: []row{{filename: "alpha-1.0.tar.gz", sha256: sha, size: 10, uploadTime: when}, {filename: "alpha-1.0-py3-none-any.whl", meta: true, metaSHA: sha, size: 0}}, versions: []string{"1.0"}}},
		{"local_1_1_without_versions", &listing{name: "alpha", rows: []row{{filename: "alpha-1.0.tar.gz", size: 10}}}},
		{"odd_strings", &listing{name: "odd", rows: odds, versions: odd[1:]}},
		{"upstream_only", &listing{name: "up", up: page([]string{"1.0", "2.0"}, upFile("up-2.0.tar.gz", -1), upFile("up-1.0.tar.gz", 3))}},
		{"local_hides_upstream", &listing{name: "mix", rows: []row{{filename: "mix-1.0.tar.gz", sha256: sha, size: 1}, {filename: "mix-3.0.tar.gz", size: 2}}, versions: []string{"1.0", "3.0"},
			up: page([]string{"0.9", "1.0", "2.0", "10.0"}, upFile("mix-1.0.tar.gz", 9), upFile("mix-0.9.tar.gz", 8), upFile("mix-2.0.tar.gz", 7), upFile("mix-10.0.tar.gz", 6))}},
		{"many_files", &listing{name: "many", rows: []row{{filename: "many-17.tar.gz", size: 1}}, versions: []string{"17"}, up: page(sortVersions(manyVersions), many...)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// As newListing sorts a listing's own files.
			slices.SortFunc(c.l.rows, func(a, b row) int { return strings.Compare(a.filename, b.filename) })
			c.l.versions = sortVersions(c.l.versions)
			rows, versions := treeListing(c.l)
			wantHTML, wantJSON := renderProjectAsTree(c.l.name, rows, versions)
			p := renderProject(c.l, 1<<30)
			if !p.kept || !bytes.Equal(p.html, wantHTML) {
				t.Errorf("HTML differs:\n%s\nwant\n%s", p.html, wantHTML)
			}
			if !bytes.Equal(p.json, wantJSON) {
				t.Errorf("JSON differs:\n%s\nwant\n%s", p.json, wantJSON)
			}
			for _, f := range []format{formatJSON, formatTextHTML} {
				var b bytes.Buffer
				if err := writeProject(&b, f, c.l); err != nil {
					t.Fatal(err)
				}
				want := map[format][]byte{formatJSON: wantJSON, formatTextHTML: wantHTML}[f]
				if !bytes.Equal(b.Bytes(), want) {
					t.Errorf("%s written differs", f.contentType())
				}
			}
			// A page too large to keep keeps the same validators.
			small := renderProject(c.l, 100)
			if small.kept || small.html != nil || small.json != nil {
				t.Errorf("a page over its bound was kept")
			}
			if small.htmlTag != etagOf('h', wantHTML) || small.jsonTag != etagOf('j', wantJSON) ||
				small.htmlLenHdr[0] != strconv.Itoa(len(wantHTML)) || small.jsonLenHdr[0] != strconv.Itoa(len(wantJSON)) {
				t.Errorf("validators %+v", small)
			}
		})
	}
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
