package simple_test

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/larder-build/larder/resolver/simple"
)

// FuzzWrittenPagesReadBack writes a page of one file with any name,
// Requires-Python and yank reason, in each form, and reads it back: the
// values must survive, and the reader must never fail on what the writer
// wrote.
func FuzzWrittenPagesReadBack(f *testing.F) {
	f.Add("demo-1.0-py3-none-any.whl", ">=3.8,<4", "")
	f.Add("a&b-1.0.tar.gz", `"><script>`, "<!-- -->")
	f.Add("x-1!2.0+local-py3-none-any.whl", "", `\u2028"`)
	f.Fuzz(func(t *testing.T, filename, requiresPython, reason string) {
		// A file name is a path segment (pip reads it from the URL) and
		// anchor text, which HTML trims.
		if filename == "" || strings.ContainsAny(filename, "/\x00") || filename == "." || filename == ".." ||
			strings.TrimSpace(filename) != filename || !utf8.ValidString(filename) || !utf8.ValidString(requiresPython) || !utf8.ValidString(reason) {
			return
		}
		want := simple.File{Filename: filename, URL: "../../files/" + url.PathEscape(filename),
			Hashes: map[string]string{"sha256": strings.Repeat("ab", 32)}, RequiresPython: requiresPython,
			Yanked: true, YankedReason: reason, Size: 1}
		base, _ := url.Parse("http://127.0.0.1/simple/demo/")
		for _, form := range []simple.Format{simple.HTML, simple.JSON} {
			var b bytes.Buffer
			w := simple.NewProjectWriter(&b, form, "demo", "1.1", nil)
			w.File(&want)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			ct := simple.MediaTypeHTML
			if form == simple.JSON {
				ct = simple.MediaTypeJSON
			}
			p, err := simple.ParseProject(base.String(), ct, b.Bytes())
			if err != nil {
				t.Fatalf("%s: %v\n%s", ct, err, b.Bytes())
			}
			if len(p.Files) != 1 {
				t.Fatalf("%s: read %d files\n%s", ct, len(p.Files), b.Bytes())
			}
			got := p.Files[0]
			u, _ := base.Parse(want.URL)
			if got.Filename != filename || got.URL != u.String() || got.RequiresPython != requiresPython ||
				!got.Yanked || got.YankedReason != reason || got.SHA256() != want.Hashes["sha256"] {
				t.Errorf("%s: got %+v\nwant %+v\n%s", ct, got, want, b.Bytes())
			}
		}
	})
}

// FuzzReadersTakeAnyPage reads any bytes as either form, whole and in
// small reads: the readers may refuse a page but must end, and never
// panic.
func FuzzReadersTakeAnyPage(f *testing.F) {
	f.Add([]byte(`<a href="x-1.0.tar.gz#sha256=ab" data-yanked="">x</a><!-- <a href=y> --><script><a href=z></script>`), 3)
	f.Add([]byte(`{"meta":{"api-version":"1.1"},"files":[{"filename":"x","url":"x","yanked":1}],"versions":["1"]}`), 1)
	f.Fuzz(func(t *testing.T, page []byte, chunk int) {
		chunk = 1 + (chunk&0xff)%64
		base, _ := url.Parse("http://127.0.0.1/simple/x/")
		for _, ct := range []string{simple.MediaTypeHTML, simple.MediaTypeJSON} {
			n := 0
			simple.ScanProject(&chunkReader{s: string(page), n: chunk}, ct, base, func(*simple.File, error) error {
				if n++; n > len(page)+1 {
					t.Fatalf("%s: more files than bytes", ct)
				}
				return nil
			}, nil)
		}
		simple.ParseProjectList("text/html", page)
	})
}
