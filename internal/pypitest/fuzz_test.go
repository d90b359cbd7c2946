package pypitest

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, name := range []string{"tree.toml", "small.json"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "pypitest", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, strings.HasSuffix(name, ".json"))
	}
	f.Add([]byte(`{"projects":[{"name":"a","releases":[{"version":"1!2.0rc1.post3.dev4+x.5","requires":["b; extra == 'x' and os_name == \"nt\""],"sdist":true}]}]}`), true)
	f.Fuzz(func(t *testing.T, data []byte, isJSON bool) {
		format := "toml"
		if isJSON {
			format = "json"
		}
		idx, err := Parse(data, format)
		if err != nil {
			return
		}
		for _, p := range idx.Projects {
			for _, r := range p.Releases {
				for _, w := range r.Wheels {
					if w.Size > 1<<16 {
						return
					}
				}
				if r.SdistSize > 1<<16 {
					return
				}
			}
		}
		s := New(idx)
		if s.Err() != nil {
			t.Fatalf("Parse accepted a spec New rejects: %v", s.Err())
		}
		paths := []string{"/simple/"}
		for _, p := range idx.Projects {
			paths = append(paths, "/simple/"+Normalize(p.Name)+"/")
		}
		for _, path := range paths {
			for _, accept := range []string{MediaJSON, "text/html"} {
				req := httptest.NewRequest("GET", "http://x"+path, nil)
				req.Header.Set("Accept", accept)
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				// An sdist whose extras have no pyproject.toml form fails to
				// build: that is the one 500 a valid spec may give.
				if rec.Code != 200 && !(rec.Code == 500 && strings.Contains(rec.Body.String(), "requirement")) {
					t.Fatalf("GET %s (%s): %d %s", path, accept, rec.Code, rec.Body)
				}
			}
		}
	})
}

func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{pipAccept, "", "*/*", "text/html;q=0.5, application/*;q=0.6", "application/vnd.pypi.simple.latest+json;q=1.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		for _, m := range []Mode{Both, HTMLOnly, JSONOnly} {
			got := negotiate(accept, m)
			switch {
			case got == "":
			case got == MediaJSON && m != HTMLOnly:
			case (got == MediaHTML || got == MediaTextHTML) && m != JSONOnly:
			default:
				t.Fatalf("negotiate(%q, %s) = %q", accept, m, got)
			}
		}
	})
}

func FuzzSplitExtra(f *testing.F) {
	for _, s := range []string{`a; extra == "x"`, `a; python_version < "3" and extra == 'x'`, `a; (b == "1" or c == "2") and extra == "y"`, "a", `a; extra`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, req string) {
		extra, rest, err := splitExtra(req)
		if err != nil || extra == "" {
			return
		}
		if _, marker, _ := strings.Cut(rest, ";"); extraClause.MatchString(marker) {
			t.Fatalf("splitExtra(%q) left the extra clause: %q", req, rest)
		}
		if !strings.Contains(req, extra) {
			t.Fatalf("splitExtra(%q) invented extra %q", req, extra)
		}
	})
}
