package wheelhouse

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html"

	"github.com/larder-build/larder/resolver/simple"
)

// FuzzStaticPagesSayWhatTheManifestSays writes a project page for any
// file name, version and Requires-Python, and parses it back as pip
// would: the HTML anchor and the JSON file must carry the same values.
func FuzzStaticPagesSayWhatTheManifestSays(f *testing.F) {
	f.Add("demo-1.0-py3-none-any.whl", "1.0", ">=3.8,<4")
	f.Add("a&b-1.0.tar.gz", "1.0", `"><script>`)
	f.Add("x-1!2.0+local-py3-none-any.whl", "1!2.0+local", "")
	f.Fuzz(func(t *testing.T, filename, version, requiresPython string) {
		if !ValidFilename(filename) || !utf8.ValidString(filename) || !utf8.ValidString(version) || !utf8.ValidString(requiresPython) ||
			strings.ContainsAny(requiresPython, "\x00\r") {
			return
		}
		e := Entry{Filename: filename, Project: "demo", Version: version, SHA256: strings.Repeat("ab", 32), Size: 1,
			RequiresPython: requiresPython, MetadataSHA256: strings.Repeat("cd", 32)}
		doc, err := html.Parse(bytes.NewReader(projectPage(simple.HTML, "demo", []Entry{e})))
		if err != nil {
			t.Fatal(err)
		}
		var attrs map[string]string
		var text string
		var walk func(n *html.Node)
		walk = func(n *html.Node) {
			if n.Type == html.ElementNode && n.Data == "a" {
				attrs = map[string]string{}
				for _, a := range n.Attr {
					attrs[a.Key] = a.Val
				}
				if n.FirstChild != nil {
					text = n.FirstChild.Data
				}
			}
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				walk(c)
			}
		}
		walk(doc)
		if attrs == nil || text != filename || attrs["href"] != fileHref(filename)+"#sha256="+e.SHA256 {
			t.Fatalf("anchor %q %v for %q", text, attrs, filename)
		}
		if got, ok := attrs["data-requires-python"]; (requiresPython != "") != ok || got != requiresPython {
			t.Errorf("data-requires-python %q, want %q", got, requiresPython)
		}
		b := projectPage(simple.JSON, "demo", []Entry{e})
		var p struct {
			Files []struct {
				Filename       string `json:"filename"`
				URL            string `json:"url"`
				RequiresPython string `json:"requires-python"`
			} `json:"files"`
		}
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("invalid JSON page: %v\n%s", err, b)
		}
		if len(p.Files) != 1 || p.Files[0].Filename != filename || p.Files[0].URL != fileHref(filename) || p.Files[0].RequiresPython != requiresPython {
			t.Errorf("JSON file %+v", p.Files)
		}
	})
}
