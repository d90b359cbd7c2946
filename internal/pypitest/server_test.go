package pypitest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// pipAccept is the Accept header pip 23 sends for index pages.
const pipAccept = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"

func get(t testing.TB, s *Server, path string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.BaseURL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func body(t testing.TB, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return string(b)
}

func TestNegotiateFollowsAcceptQualities(t *testing.T) {
	tests := []struct {
		accept string
		mode   Mode
		want   string
	}{
		{pipAccept, Both, MediaJSON},
		{pipAccept, HTMLOnly, MediaHTML},
		{"text/html", JSONOnly, ""},
		{"", Both, MediaTextHTML},
		{"", JSONOnly, MediaJSON},
		{"*/*", Both, MediaTextHTML},
		{"application/*", Both, MediaJSON},
		{"text/html", Both, MediaTextHTML},
		{"application/vnd.pypi.simple.v1+html;q=0.2, application/vnd.pypi.simple.v1+json;q=0.1", Both, MediaHTML},
		{"application/vnd.pypi.simple.latest+json", Both, MediaJSON},
		{"application/vnd.pypi.simple.latest+html", Both, MediaHTML},
		{"application/vnd.pypi.simple.v1+json;q=0, */*", Both, MediaTextHTML},
		{"application/vnd.pypi.simple.v1+json", HTMLOnly, ""},
		{"image/png", Both, ""},
		{"text/html;q=abc", Both, ""},
		{"garbage, ,;;,/", Both, ""},
		{"TEXT/HTML", Both, MediaTextHTML},
		{"text/html, application/vnd.pypi.simple.v1+json", Both, MediaTextHTML},
	}
	for _, tt := range tests {
		if got := negotiate(tt.accept, tt.mode); got != tt.want {
			t.Errorf("negotiate(%q, %s) = %q, want %q", tt.accept, tt.mode, got, tt.want)
		}
	}
}

func TestProjectPageHTMLCarriesHashesAndPEP658And714Attributes(t *testing.T) {
	s := Start(t, loadTree(t))
	resp := get(t, s, "/simple/web-client/", "Accept", "text/html")
	page := body(t, resp)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	fs, err := s.Files("Web.Client")
	if err != nil {
		t.Fatal(err)
	}
	whl := fs[0]
	for _, want := range []string{
		`<meta name="pypi:repository-version" content="1.1">`,
		`<a href="../../files/` + whl.Filename + `#sha256=` + whl.SHA256 + `" data-requires-python="&gt;=3.8, &lt;4" data-dist-info-metadata="sha256=` + whl.MetadataSHA256 + `" data-core-metadata="sha256=` + whl.MetadataSHA256 + `">` + whl.Filename + `</a>`,
		`data-requires-python="&gt;=3.8, &lt;4">web_client-2.0.tar.gz</a>`,
		`<a href="../../files/web_client-2.1-cp311-cp311-win_amd64.whl#sha256=`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s\n%s", want, page)
		}
	}

	shared := body(t, get(t, s, "/simple/shared/"))
	if !strings.Contains(shared, `data-yanked="">shared-2.0-py3-none-any.whl`) && !strings.Contains(shared, `data-yanked="" data-dist-info-metadata`) {
		t.Errorf("yanked-without-reason file not marked data-yanked=\"\":\n%s", shared)
	}
	depA := body(t, get(t, s, "/simple/dep-a/"))
	if !strings.Contains(depA, `data-yanked="broken build"`) {
		t.Errorf("yank reason missing:\n%s", depA)
	}
}

func TestProjectPageJSONFollowsPEP691And700(t *testing.T) {
	s := Start(t, loadTree(t))
	resp := get(t, s, "/simple/dep-a/", "Accept", pipAccept)
	if ct := resp.Header.Get("Content-Type"); ct != MediaJSON {
		t.Fatalf("Content-Type %q, want %q", ct, MediaJSON)
	}
	var page struct {
		Meta     map[string]string `json:"meta"`
		Name     string            `json:"name"`
		Versions []string          `json:"versions"`
		Files    []map[string]any  `json:"files"`
	}
	if err := json.Unmarshal([]byte(body(t, resp)), &page); err != nil {
		t.Fatal(err)
	}
	if page.Meta["api-version"] != "1.1" || page.Name != "dep-a" || strings.Join(page.Versions, " ") != "1.0 2.0 2.1 3.0" || len(page.Files) != 4 {
		t.Fatalf("page %+v", page)
	}
	fs, _ := s.Files("dep-a")
	f := page.Files[1]
	want := map[string]any{
		"filename":      "dep_a-2.0-py3-none-any.whl",
		"url":           "../../files/dep_a-2.0-py3-none-any.whl",
		"hashes":        map[string]any{"sha256": fs[1].SHA256},
		"yanked":        false,
		"core-metadata": map[string]any{"sha256": fs[1].MetadataSHA256},
		"size":          float64(len(fs[1].Data)),
		"upload-time":   "2023-05-01T12:00:00.000000Z",
	}
	for k, v := range want {
		got, _ := json.Marshal(f[k])
		if w, _ := json.Marshal(v); string(got) != string(w) {
			t.Errorf("files[1][%q] = %s, want %s", k, got, w)
		}
	}
	if _, ok := f["requires-python"]; ok {
		t.Error("requires-python present for a release without one")
	}
	if _, ok := f["dist-info-metadata"]; ok {
		t.Error("the JSON form carries the pre-PEP 714 key that crashes pip 23.0")
	}
	if page.Files[2]["yanked"] != "broken build" || page.Files[3]["requires-python"] != ">=4" {
		t.Errorf("yanked %v, requires-python %v", page.Files[2]["yanked"], page.Files[3]["requires-python"])
	}
	var shared struct{ Files []map[string]any }
	json.Unmarshal([]byte(body(t, get(t, s, "/simple/shared/", "Accept", MediaJSON))), &shared)
	if shared.Files[3]["yanked"] != true || shared.Files[2]["core-metadata"] != nil {
		t.Errorf("shared: yanked %v (want true), sdist core-metadata %v (want none)", shared.Files[3]["yanked"], shared.Files[2]["core-metadata"])
	}
}

func TestRootListsProjectsInBothForms(t *testing.T) {
	s := Start(t, loadTree(t))
	html := body(t, get(t, s, "/simple/"))
	if !strings.Contains(html, `<a href="web-client/">Web.Client</a>`) || !strings.Contains(html, `<a href="app/">app</a>`) {
		t.Errorf("root HTML:\n%s", html)
	}
	var root struct {
		Meta     map[string]string
		Projects []struct{ Name string }
	}
	json.Unmarshal([]byte(body(t, get(t, s, "/simple/", "Accept", MediaJSON))), &root)
	if len(root.Projects) != 6 || root.Meta["api-version"] != "1.1" {
		t.Errorf("root JSON %+v", root)
	}
}

func TestServerRedirectsNonNormalizedNamesAnd404sUnknownOnes(t *testing.T) {
	s := Start(t, loadTree(t))
	tests := []struct {
		path     string
		status   int
		location string
	}{
		{"/simple/Web.Client/", 301, "/simple/web-client/"},
		{"/simple/web_client/", 301, "/simple/web-client/"},
		{"/simple/web-client", 301, "/simple/web-client/"},
		{"/simple", 301, "/simple/"},
		{"/simple/web-client/", 200, ""},
		{"/simple/nope/", 404, ""},
		{"/simple/Nope/", 404, ""},
		{"/simple/app/extra/", 404, ""},
		{"/files/nope-1.0.tar.gz", 404, ""},
		{"/files/app-1.0.tar.gz.metadata", 404, ""},
		{"/files/app-1.0-py3-none-any.whl.metadata", 200, ""},
		{"/", 404, ""},
	}
	for _, tt := range tests {
		resp := get(t, s, tt.path)
		if resp.StatusCode != tt.status || resp.Header.Get("Location") != tt.location {
			t.Errorf("GET %s: %d %q, want %d %q", tt.path, resp.StatusCode, resp.Header.Get("Location"), tt.status, tt.location)
		}
	}
}

func TestPagesAnswer304ToAMatchingETag(t *testing.T) {
	s := Start(t, loadTree(t))
	first := get(t, s, "/simple/app/", "Accept", pipAccept)
	etag := first.Header.Get("ETag")
	if etag == "" || first.Header.Get("Vary") != "Accept" {
		t.Fatalf("ETag %q, Vary %q", etag, first.Header.Get("Vary"))
	}
	if again := get(t, s, "/simple/app/", "Accept", pipAccept, "If-None-Match", etag); again.StatusCode != 304 {
		t.Errorf("revalidation answered %d, want 304", again.StatusCode)
	}
	html := get(t, s, "/simple/app/", "Accept", "text/html", "If-None-Match", etag)
	if html.StatusCode != 200 || html.Header.Get("ETag") == etag {
		t.Errorf("the HTML form answered %d with the JSON form's ETag", html.StatusCode)
	}
	s.SetOmitAllMetadata(true)
	if changed := get(t, s, "/simple/app/", "Accept", pipAccept, "If-None-Match", etag); changed.StatusCode != 200 {
		t.Errorf("changed page answered %d, want 200", changed.StatusCode)
	}
}

func TestCacheControlIsSentOnlyWhereSet(t *testing.T) {
	s := Start(t, loadTree(t))
	fs, _ := s.Files("app")
	page, file := "/simple/app/", "/files/"+fs[0].Filename
	if p, f := get(t, s, page), get(t, s, file); p.Header.Get("Cache-Control") != "" || f.Header.Get("Cache-Control") != "" {
		t.Errorf("by default: page %q, file %q", p.Header.Get("Cache-Control"), f.Header.Get("Cache-Control"))
	}
	s.SetCacheControl(PyPIPageCacheControl)
	s.SetFileCacheControl(PyPIFileCacheControl)
	for path, want := range map[string]string{page: PyPIPageCacheControl, file: PyPIFileCacheControl, file + ".metadata": PyPIFileCacheControl} {
		if got := get(t, s, path).Header.Get("Cache-Control"); got != want {
			t.Errorf("%s: Cache-Control %q, want %q", path, got, want)
		}
	}
}

func TestFilesServeRangesAndMetadata(t *testing.T) {
	s := Start(t, loadTree(t))
	fs, _ := s.Files("app")
	whl := fs[0]
	resp := get(t, s, "/files/"+whl.Filename, "Range", "bytes=10-19")
	if resp.StatusCode != 206 || body(t, resp) != string(whl.Data[10:20]) {
		t.Errorf("range request answered %d", resp.StatusCode)
	}
	tail := get(t, s, "/files/"+whl.Filename, "Range", "bytes=-22")
	if got := body(t, tail); got != string(whl.Data[len(whl.Data)-22:]) {
		t.Errorf("suffix range gave %q", got)
	}
	meta := get(t, s, "/files/"+whl.Filename+".metadata")
	if got := body(t, meta); got != string(whl.Metadata) || !strings.HasPrefix(got, "Metadata-Version: 2.1\nName: app\nVersion: 1.0\n") {
		t.Errorf("metadata:\n%s", got)
	}
	head, _ := http.Head(s.BaseURL() + "/files/" + whl.Filename)
	head.Body.Close()
	if head.ContentLength != int64(len(whl.Data)) {
		t.Errorf("HEAD Content-Length %d, want %d", head.ContentLength, len(whl.Data))
	}
}

func TestModesRefuseTheOtherFormWith406(t *testing.T) {
	s := Start(t, loadTree(t), WithMode(JSONOnly))
	if resp := get(t, s, "/simple/app/", "Accept", "text/html"); resp.StatusCode != 406 {
		t.Errorf("JSON-only answered HTML request with %d", resp.StatusCode)
	}
	if resp := get(t, s, "/simple/app/", "Accept", pipAccept); resp.Header.Get("Content-Type") != MediaJSON {
		t.Errorf("JSON-only answered pip with %q", resp.Header.Get("Content-Type"))
	}
	s.SetMode(HTMLOnly)
	if resp := get(t, s, "/simple/app/", "Accept", pipAccept); resp.Header.Get("Content-Type") != MediaHTML {
		t.Errorf("HTML-only answered pip with %q", resp.Header.Get("Content-Type"))
	}
	if resp := get(t, s, "/simple/", "Accept", MediaJSON); resp.StatusCode != 406 {
		t.Errorf("HTML-only answered a JSON-only client with %d", resp.StatusCode)
	}
}

func TestKnobsInjectFailures(t *testing.T) {
	s := Start(t, loadTree(t))
	fs, _ := s.Files("app")
	whl := fs[0].Filename

	s.FailRequest(2, Fail500)
	if resp := get(t, s, "/simple/app/"); resp.StatusCode != 200 {
		t.Errorf("request 1 answered %d", resp.StatusCode)
	}
	if resp := get(t, s, "/simple/app/"); resp.StatusCode != 500 {
		t.Errorf("request 2 answered %d, want 500", resp.StatusCode)
	}
	if resp := get(t, s, "/simple/app/"); resp.StatusCode != 200 {
		t.Errorf("request 3 answered %d", resp.StatusCode)
	}

	s.FailPath("/files/*.whl", FailReset)
	if _, err := http.Get(s.BaseURL() + "/files/" + whl); err == nil {
		t.Error("reset knob: request succeeded")
	}
	if resp := get(t, s, "/files/app-1.0.tar.gz"); resp.StatusCode != 200 {
		t.Errorf("non-matching path answered %d", resp.StatusCode)
	}
	s.FailPath("/files/*.whl", FailNone)

	s.SetTruncate(whl, 100)
	resp, err := http.Get(s.BaseURL() + "/files/" + whl)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if n != 100 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated download read %d bytes, error %v; want 100, unexpected EOF", n, err)
	}
	s.SetTruncate(whl, -1)

	s.SetWrongHash(whl, true)
	s.SetOmitMetadata(whl, true)
	page := body(t, get(t, s, "/simple/app/"))
	line := page[strings.Index(page, `<a href="../../files/`+whl):]
	line = line[:strings.Index(line, "\n")]
	if strings.Contains(page, fs[0].SHA256) || strings.Contains(line, "core-metadata") || !strings.Contains(line, "#sha256="+wrongDigest(fs[0].SHA256)) {
		t.Errorf("wrong-hash and no-metadata knobs ignored:\n%s", page)
	}
	if resp := get(t, s, "/files/"+whl+".metadata"); resp.StatusCode != 404 {
		t.Errorf("withheld metadata answered %d", resp.StatusCode)
	}
	if got := body(t, get(t, s, "/files/"+whl)); got != string(fs[0].Data) {
		t.Error("wrong-hash knob changed the served bytes")
	}

	s.ClearKnobs()
	s.SetLatency(150 * time.Millisecond)
	start := time.Now()
	get(t, s, "/simple/")
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("latency knob: request took %v", d)
	}
}

func TestCountersCountEveryRequestByPath(t *testing.T) {
	s := Start(t, loadTree(t), WithFailRequest(1, Fail500))
	get(t, s, "/simple/app/")
	get(t, s, "/simple/app/")
	get(t, s, "/simple/App/")
	get(t, s, "/files/none")
	if s.Requests("/simple/app/") != 2 || s.Requests("/simple/App/") != 1 || s.TotalRequests() != 4 || len(s.Counts()) != 3 {
		t.Errorf("counts %v, total %d", s.Counts(), s.TotalRequests())
	}
	s.Reset()
	if s.TotalRequests() != 0 || s.Requests("/simple/app/") != 0 {
		t.Error("Reset left counts")
	}
	// Numbering restarts: the first request after Reset fails again.
	if resp := get(t, s, "/simple/app/"); resp.StatusCode != 500 {
		t.Errorf("first request after Reset answered %d, want 500", resp.StatusCode)
	}
}

func TestServerIsSafeForConcurrentClientsAndKnobs(t *testing.T) {
	s := Start(t, loadTree(t))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				switch (i + j) % 4 {
				case 0:
					s.SetOmitAllMetadata(j%2 == 0)
				case 1:
					s.SetWrongHash("app-1.0.tar.gz", j%2 == 0)
				}
				resp, err := http.Get(s.BaseURL() + []string{"/simple/app/", "/simple/shared/", "/files/app-1.0.tar.gz", "/simple/"}[j%4])
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	if s.TotalRequests() != 160 {
		t.Errorf("counted %d requests, want 160", s.TotalRequests())
	}
}

func TestInvalidSpecAnswers500AndSetIndexPublishes(t *testing.T) {
	s := New(&Index{Projects: []Project{{Name: "bad name"}}})
	if s.Err() == nil {
		t.Fatal("invalid spec accepted")
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/simple/", nil))
	if rec.Code != 500 {
		t.Errorf("invalid spec answered %d", rec.Code)
	}
	idx := &Index{Projects: []Project{{Name: "p", Releases: []Release{{Version: "1.0", Wheels: []Wheel{{Tags: "py3-none-any"}}}}}}}
	if err := s.SetIndex(idx); err != nil {
		t.Fatal(err)
	}
	// The server keeps its own copy: later edits publish nothing.
	idx.Projects[0].Releases[0].Version = "9.9"
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/simple/p/", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "p-1.0-py3-none-any.whl") {
		t.Errorf("after SetIndex: %d\n%s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("POST", "/simple/p/", nil))
	if rec.Code != 405 {
		t.Errorf("POST answered %d", rec.Code)
	}
}

func TestLargeFilesAreRegeneratedByteForByte(t *testing.T) {
	idx := &Index{Projects: []Project{{Name: "big", Releases: []Release{{Version: "1.0",
		Wheels: []Wheel{{Tags: "cp311-cp311-manylinux_2_17_x86_64", Size: 3 << 20}}, Sdist: true, SdistSize: 2 << 20}}}}}
	s := Start(t, idx)
	fs, err := s.Files("big")
	if err != nil {
		t.Fatal(err)
	}
	var page struct{ Files []jsonFile }
	json.Unmarshal([]byte(body(t, get(t, s, "/simple/big/", "Accept", MediaJSON))), &page)
	for i, f := range fs {
		got := body(t, get(t, s, "/files/"+f.Filename))
		if len(got) != f.Size || hexSHA256([]byte(got)) != f.SHA256 || page.Files[i].Hashes["sha256"] != f.SHA256 || page.Files[i].Size != f.Size {
			t.Errorf("%s: served %d bytes with sha256 %s; File has %d, %s; page says %d, %s", f.Filename, len(got), hexSHA256([]byte(got)), f.Size, f.SHA256, page.Files[i].Size, page.Files[i].Hashes["sha256"])
		}
	}
}
