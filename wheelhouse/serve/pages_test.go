package serve

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/wheelhouse"
)

func smallIndex() *pypitest.Index {
	up := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	return &pypitest.Index{Projects: []pypitest.Project{
		{Name: "Alpha_Tools", Releases: []pypitest.Release{
			{Version: "1.0", RequiresPython: ">=3.8,<4", Wheels: []pypitest.Wheel{{Tags: "py3-none-any"}}, Sdist: true, UploadTime: up},
			{Version: "1.1", RequiresPython: ">=3.8,<4", Wheels: []pypitest.Wheel{{Tags: "py3-none-any"}}, UploadTime: up.Add(time.Hour)},
		}},
		{Name: "beta", Releases: []pypitest.Release{release("2.0", "alpha-tools>=1.0")}},
	}}
}

// smallStore bakes every file of smallIndex and returns the store and the
// fake index it came from.
func smallStore(t *testing.T) (*wheelhouse.Store, *pypitest.Server) {
	t.Helper()
	srv := pypitest.Start(t, smallIndex())
	st := bake(t, srv, t.TempDir(), filesOf(t, srv, nil, "alpha-tools", "beta"), nil)
	return st, srv
}

type jsonPage struct {
	Meta     map[string]string `json:"meta"`
	Name     string            `json:"name"`
	Versions []string          `json:"versions"`
	Files    []map[string]any  `json:"files"`
}

func TestProjectPageJSONCarriesPEP691And700Fields(t *testing.T) {
	st, _ := smallStore(t)
	_, base := startServer(t, st, WithOffline(true))
	resp, body := get(t, base+"/simple/alpha-tools/", pipAccept)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != mediaJSON {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var p jsonPage
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Meta["api-version"] != "1.1" || p.Name != "alpha-tools" || strings.Join(p.Versions, ",") != "1.0,1.1" || len(p.Files) != 3 {
		t.Fatalf("page: %s", body)
	}
	for _, f := range p.Files {
		name := f["filename"].(string)
		e, ok := st.Lookup(name)
		if !ok {
			t.Fatalf("%s is not in the store", name)
		}
		if url := f["url"].(string); !strings.HasSuffix(url, "/"+name) {
			t.Errorf("%s: url %q does not end in the file name", name, url)
		}
		if h := f["hashes"].(map[string]any)["sha256"]; h != e.SHA256 {
			t.Errorf("%s: sha256 %v, want %s", name, h, e.SHA256)
		}
		if f["requires-python"] != ">=3.8,<4" {
			t.Errorf("%s: requires-python %v", name, f["requires-python"])
		}
		if f["yanked"] != false {
			t.Errorf("%s: yanked %v", name, f["yanked"])
		}
		if int64(f["size"].(float64)) != e.Size {
			t.Errorf("%s: size %v, want %d", name, f["size"], e.Size)
		}
		if ut, err := time.Parse(time.RFC3339Nano, f["upload-time"].(string)); err != nil || !ut.Equal(e.UploadTime) {
			t.Errorf("%s: upload-time %v, want %s", name, f["upload-time"], e.UploadTime)
		}
		if _, old := f["dist-info-metadata"]; old {
			t.Errorf("%s: JSON carries the pre-PEP 714 key dist-info-metadata", name)
		}
		cm, hasMeta := f["core-metadata"].(map[string]any)
		if e.IsWheel() != hasMeta || hasMeta && cm["sha256"] != e.MetadataSHA256 {
			t.Errorf("%s: core-metadata %v, want the sidecar's hash %q", name, f["core-metadata"], e.MetadataSHA256)
		}
	}
}

func TestProjectPageHTMLCarriesEscapedAttributesAndBothMetadataNames(t *testing.T) {
	st, _ := smallStore(t)
	_, base := startServer(t, st, WithOffline(true))
	for _, accept := range []string{"Accept: text/html", "Accept: application/vnd.pypi.simple.v1+html", ""} {
		resp, body := get(t, base+"/simple/alpha-tools/", accept)
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "html") {
			t.Fatalf("%q: status %d, type %q", accept, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		page := string(body)
		anchors := regexp.MustCompile(`<a [^>]*>[^<]*</a>`).FindAllString(page, -1)
		if len(anchors) != 3 || !strings.Contains(page, `<meta name="pypi:repository-version" content="1.1">`) {
			t.Fatalf("%q: page:\n%s", accept, page)
		}
		for _, a := range anchors {
			name := a[strings.Index(a, ">")+1 : strings.LastIndex(a, "<")]
			e, _ := st.Lookup(name)
			if !strings.Contains(a, `href="../../files/`+name+`#sha256=`+e.SHA256+`"`) {
				t.Errorf("anchor %s: no link to the file with its sha256", a)
			}
			if !strings.Contains(a, `data-requires-python="&gt;=3.8,&lt;4"`) {
				t.Errorf("anchor %s: data-requires-python not escaped", a)
			}
			meta := `data-core-metadata="sha256=` + e.MetadataSHA256 + `"`
			if e.IsWheel() != strings.Contains(a, meta) {
				t.Errorf("anchor %s: want data-core-metadata for wheels only", a)
			}
			if strings.Contains(a, "data-dist-info-metadata") {
				t.Errorf("anchor %s: the pre-PEP 714 data-dist-info-metadata breaks pip 22.3 to 23.0", a)
			}
		}
	}
}

func TestMetadataFilesExistAndMatchTheAdvertisedHash(t *testing.T) {
	st, _ := smallStore(t)
	// A wheel whose sidecar is gone and one whose sidecar was altered must
	// not be advertised: pip fails an install on a missing or wrong one.
	var gone, altered string
	for _, e := range st.Entries() {
		if !e.IsWheel() {
			continue
		}
		switch {
		case gone == "":
			gone = e.Filename
		case altered == "":
			altered = e.Filename
		}
	}
	if err := removeFile(st.MetadataPath(gone)); err != nil {
		t.Fatal(err)
	}
	if err := wheelhouse.WriteFileAtomic(st.MetadataPath(altered), []byte("Metadata-Version: 2.1\nName: evil\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, base := startServer(t, st, WithOffline(true))
	// Asked for before any page lists them, neither is served: the check
	// is the same wherever it is first needed.
	for _, name := range []string{gone, altered} {
		if resp, _ := get(t, base+"/files/"+name+".metadata"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s.metadata before any page: status %d, want 404", name, resp.StatusCode)
		}
	}
	advertised := 0
	for _, project := range []string{"alpha-tools", "beta"} {
		_, body := get(t, base+"/simple/"+project+"/", pipAccept)
		var p jsonPage
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		for _, f := range p.Files {
			name := f["filename"].(string)
			cm, ok := f["core-metadata"].(map[string]any)
			if name == gone || name == altered {
				if ok {
					t.Errorf("%s: metadata advertised although its sidecar is missing or wrong", name)
				}
				continue
			}
			if !ok {
				continue
			}
			advertised++
			resp, md := get(t, resolve(t, base+"/simple/"+project+"/", f["url"].(string)+".metadata"))
			if resp.StatusCode != 200 || sha256Of(md) != cm["sha256"] {
				t.Errorf("%s.metadata: status %d, sha256 %s, advertised %v", name, resp.StatusCode, sha256Of(md), cm["sha256"])
			}
		}
	}
	if advertised == 0 {
		t.Fatal("no metadata advertised at all")
	}
	resp, _ := get(t, base+"/files/"+gone+".metadata")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("metadata of %s: status %d, want 404", gone, resp.StatusCode)
	}
}

func TestPagesNegotiateOnAcceptAndRefuseWhatNobodyOffers(t *testing.T) {
	st, _ := smallStore(t)
	_, base := startServer(t, st, WithOffline(true))
	tests := []struct {
		accept string
		status int
		ctype  string
	}{
		{pipAccept, 200, mediaJSON},
		{"Accept: application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01", 200, mediaJSON}, // uv
		{"Accept: application/vnd.pypi.simple.v1+html", 200, mediaHTML},
		{"Accept: application/vnd.pypi.simple.latest+json", 200, mediaJSON},
		{"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", 200, "text/html; charset=utf-8"}, // a browser
		{"Accept: */*", 200, "text/html; charset=utf-8"},
		{"Accept: application/vnd.pypi.simple.v1+json;q=0.1, text/html;q=0.9", 200, "text/html; charset=utf-8"},
		{"Accept: application/vnd.pypi.simple.v1+json;q=0, */*", 200, "text/html; charset=utf-8"},
		{"Accept: application/json", 406, ""},
		{"Accept: image/png, application/vnd.pypi.simple.v2+json", 406, ""},
		{"Accept: text/html;q=0", 406, ""},
	}
	for _, tt := range tests {
		for _, path := range []string{"/simple/", "/simple/beta/"} {
			resp, _ := get(t, base+path, tt.accept)
			if resp.StatusCode != tt.status || tt.ctype != "" && resp.Header.Get("Content-Type") != tt.ctype {
				t.Errorf("%s with %q: %d %q, want %d %q", path, tt.accept, resp.StatusCode, resp.Header.Get("Content-Type"), tt.status, tt.ctype)
			}
		}
	}
}

func TestNonNormalizedNamesRedirectPermanently(t *testing.T) {
	st, _ := smallStore(t)
	_, base := startServer(t, st, WithOffline(true))
	tests := map[string]string{
		"/simple":              "/simple/",
		"/simple/Alpha_Tools/": "/simple/alpha-tools/",
		"/simple/alpha.tools/": "/simple/alpha-tools/",
		"/simple/ALPHA--tools": "/simple/alpha-tools/",
		"/simple/alpha-tools":  "/simple/alpha-tools/",
	}
	for from, to := range tests {
		resp, _ := get(t, base+from)
		if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != to {
			t.Errorf("%s: %d to %q, want 301 to %q", from, resp.StatusCode, resp.Header.Get("Location"), to)
		}
	}
}

func TestPagesAnswerIfNoneMatchWith304(t *testing.T) {
	st, _ := smallStore(t)
	_, base := startServer(t, st, WithOffline(true))
	for _, path := range []string{"/simple/", "/simple/beta/", "/"} {
		for _, accept := range []string{pipAccept, "Accept: text/html"} {
			resp, _ := get(t, base+path, accept, "Cache-Control: max-age=0")
			tag := resp.Header.Get("ETag")
			if resp.StatusCode != 200 || tag == "" {
				t.Fatalf("%s: %d, ETag %q", path, resp.StatusCode, tag)
			}
			resp, body := get(t, base+path, accept, "Cache-Control: max-age=0", "If-None-Match: "+tag)
			if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
				t.Errorf("%s with If-None-Match %s: %d, %d bytes", path, tag, resp.StatusCode, len(body))
			}
			resp, _ = get(t, base+path, accept, `If-None-Match: "something-else"`)
			if resp.StatusCode != 200 {
				t.Errorf("%s with a stale ETag: %d", path, resp.StatusCode)
			}
		}
	}
	// The two forms of a page must not share a validator.
	r1, _ := get(t, base+"/simple/beta/", pipAccept)
	r2, _ := get(t, base+"/simple/beta/", "Accept: text/html")
	if r1.Header.Get("ETag") == r2.Header.Get("ETag") || r1.Header.Get("Vary") != "Accept" {
		t.Errorf("JSON and HTML share ETag %s (Vary %q)", r1.Header.Get("ETag"), r1.Header.Get("Vary"))
	}
}

func TestFilesServeRangesWithShaETagAndImmutableCaching(t *testing.T) {
	st, _ := smallStore(t)
	_, base := startServer(t, st, WithOffline(true))
	e := st.Entries()[0]
	resp, body := get(t, base+"/files/"+e.Filename)
	if resp.StatusCode != 200 || sha256Of(body) != e.SHA256 || resp.Header.Get("ETag") != `"`+e.SHA256+`"` ||
		resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Fatalf("GET: %d, ETag %q, Cache-Control %q", resp.StatusCode, resp.Header.Get("ETag"), resp.Header.Get("Cache-Control"))
	}
	resp, part := get(t, base+"/files/"+e.Filename, "Range: bytes=10-19")
	if resp.StatusCode != http.StatusPartialContent || string(part) != string(body[10:20]) {
		t.Errorf("Range: %d, %q", resp.StatusCode, part)
	}
	resp, part = get(t, base+"/files/"+e.Filename, "Range: bytes=-5")
	if resp.StatusCode != http.StatusPartialContent || string(part) != string(body[len(body)-5:]) {
		t.Errorf("suffix Range: %d, %q", resp.StatusCode, part)
	}
	resp, _ = get(t, base+"/files/"+e.Filename, `If-None-Match: "`+e.SHA256+`"`)
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodHead, base+"/files/"+e.Filename, nil)
	hr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	hr.Body.Close()
	if hr.StatusCode != 200 || hr.ContentLength != e.Size {
		t.Errorf("HEAD: %d, length %d, want %d", hr.StatusCode, hr.ContentLength, e.Size)
	}
	req, _ = http.NewRequest(http.MethodPost, base+"/files/"+e.Filename, strings.NewReader("x"))
	pr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	pr.Body.Close()
	if pr.StatusCode != http.StatusMethodNotAllowed || pr.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d, Allow %q", pr.StatusCode, pr.Header.Get("Allow"))
	}
}

func TestProjectListAndHealthAndOverview(t *testing.T) {
	st := originStore(t, pypitest.Project{Name: "secret", Releases: []pypitest.Release{release("4.0")}})
	_, base := startServer(t, st, WithOffline(true))
	_, body := get(t, base+"/simple/", pipAccept)
	var root struct {
		Projects []struct{ Name string } `json:"projects"`
	}
	if err := json.Unmarshal(body, &root); err != nil || len(root.Projects) != 4 || root.Projects[0].Name != "built" {
		t.Errorf("project list: %s", body)
	}
	resp, body := get(t, base+"/-/healthz")
	var h Health
	if err := json.Unmarshal(body, &h); err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %d %s", resp.StatusCode, body)
	}
	if !h.OK || h.Server != "larder-index" || h.Files != 4 || h.Projects != 4 || h.Upstream.State != "offline" {
		t.Errorf("healthz: %+v", h)
	}
	_, body = get(t, base+"/", "Accept: text/html")
	page := string(body)
	for _, want := range []string{
		"4 projects, 4 files", `href="project/plain/"`, "baked", "built from a fork", "built from an sdist",
		`secret</a> <span class="private">private</span>`, `forked</a> <span class="private">private</span>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("overview lacks %q:\n%s", want, page)
		}
	}
	// Each file's provenance is on its project's page.
	for project, want := range map[string]string{
		"plain":  `href="../../files/plain-1.0-py3-none-any.whl"`,
		"forked": "built from https://git.example/forked.git @0123456789ab",
		"built":  "built from the sdist built-3.0.tar.gz",
	} {
		_, body = get(t, base+"/project/"+project+"/")
		if !strings.Contains(string(body), want) {
			t.Errorf("project page %s lacks %q:\n%s", project, want, body)
		}
	}
}

func TestAccessLogRecordsRequestsAndFilesStillArrive(t *testing.T) {
	st, _ := smallStore(t)
	log := &testLog{}
	_, base := startServer(t, st, WithOffline(true), WithAccessLog(true), WithLogger(log.logger()))
	e := st.Entries()[0]
	if resp, body := get(t, base+"/files/"+e.Filename); resp.StatusCode != 200 || sha256Of(body) != e.SHA256 {
		t.Fatalf("file through the access log: %d", resp.StatusCode)
	}
	get(t, base+"/simple/nobody/", pipAccept)
	out := log.String()
	for _, want := range []string{"msg=request method=GET path=/files/" + e.Filename + " status=200 bytes=" + strconv.FormatInt(e.Size, 10), "path=/simple/nobody/ status=404"} {
		if !strings.Contains(out, want) {
			t.Errorf("access log lacks %q:\n%s", want, out)
		}
	}
}
