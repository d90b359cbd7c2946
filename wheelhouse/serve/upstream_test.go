package serve

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/wheelhouse"
)

// upstreamIndex is smallIndex as the upstream has it later: alpha-tools 1.0
// was rebuilt (different bytes under the same name), 2.0 is new, and gamma
// exists only upstream.
func upstreamIndex() *pypitest.Index {
	idx := smallIndex()
	idx.Projects[0].Releases[0].Wheels[0].Size = 9000
	idx.Projects[0].Releases = append(idx.Projects[0].Releases, release("2.0"))
	idx.Projects = append(idx.Projects, pypitest.Project{Name: "gamma", Releases: []pypitest.Release{release("0.5")}})
	return idx
}

func pageOf(t *testing.T, base, project string) jsonPage {
	t.Helper()
	resp, body := get(t, base+"/simple/"+project+"/", pipAccept)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %s", project, resp.StatusCode, body)
	}
	var p jsonPage
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func fileNames(p jsonPage) map[string]string {
	out := map[string]string{}
	for _, f := range p.Files {
		out[f["filename"].(string)] = f["hashes"].(map[string]any)["sha256"].(string)
	}
	return out
}

func TestPublicPageMergesUpstreamListingAndBakedFileWins(t *testing.T) {
	st, _ := smallStore(t)
	up := pypitest.Start(t, upstreamIndex())
	_, base := startServer(t, st, WithUpstream(up.URL()), WithCacheDir(t.TempDir()))
	files := fileNames(pageOf(t, base, "alpha-tools"))
	baked, _ := st.Lookup("alpha_tools-1.0-py3-none-any.whl")
	if files["alpha_tools-1.0-py3-none-any.whl"] != baked.SHA256 {
		t.Errorf("the upstream's rebuilt 1.0 wheel replaced the baked one")
	}
	upFiles := filesOf(t, up, map[string]string{"alpha-tools": "2.0"}, "alpha-tools")
	if len(upFiles) != 1 || files[upFiles[0].Filename] != upFiles[0].SHA256 {
		t.Errorf("the upstream's 2.0 is not listed: %v", files)
	}
	if len(files) != 4 {
		t.Errorf("merged page lists %d files, want 4: %v", len(files), files)
	}
	p := pageOf(t, base, "alpha-tools")
	if strings.Join(p.Versions, ",") != "1.0,1.1,2.0" {
		t.Errorf("versions %v", p.Versions)
	}
	// A project only the upstream has is listed from it; one nobody has
	// is 404.
	if g := fileNames(pageOf(t, base, "gamma")); len(g) != 1 {
		t.Errorf("gamma: %v", g)
	}
	if resp, _ := get(t, base+"/simple/nobody-has-this/", pipAccept); resp.StatusCode != 404 {
		t.Errorf("unknown project: %d", resp.StatusCode)
	}
}

// fallThrough is a server over smallStore, with upstreamIndex behind it
// and its fall-through cache in a folder of its own, that has listed
// alpha-tools; want is alpha-tools 2.0's wheel, which only the upstream
// has.
type fallThrough struct {
	st    *wheelhouse.Store
	s     *Server
	base  string
	up    *pypitest.Server
	want  *pypitest.File
	cache string
}

// startFallThrough starts a fallThrough; fault, when not nil, sets the
// upstream's faults before the server starts.
func startFallThrough(t *testing.T, fault func(up *pypitest.Server, want *pypitest.File), opts ...Option) fallThrough {
	t.Helper()
	f := fallThrough{up: pypitest.Start(t, upstreamIndex()), cache: t.TempDir()}
	f.st, _ = smallStore(t)
	f.want = filesOf(t, f.up, map[string]string{"alpha-tools": "2.0"}, "alpha-tools")[0]
	if fault != nil {
		fault(f.up, f.want)
	}
	f.s, f.base = startServer(t, f.st, append([]Option{WithUpstream(f.up.URL()), WithCacheDir(f.cache)}, opts...)...)
	pageOf(t, f.base, "alpha-tools")
	return f
}

// truncateWant cuts the downloads of want halfway.
func truncateWant(up *pypitest.Server, want *pypitest.File) {
	up.SetTruncate(want.Filename, want.Size/2)
}

func TestFallThroughFileIsVerifiedCachedAndThenLocal(t *testing.T) {
	f := startFallThrough(t, nil)
	s, base, up, want, cache := f.s, f.base, f.up, f.want, f.cache
	// pip reads the metadata first, then the wheel.
	resp, md := get(t, base+"/files/"+want.Filename+".metadata")
	if resp.StatusCode != 200 || sha256Of(md) != want.MetadataSHA256 {
		t.Fatalf("metadata: %d, sha256 %s", resp.StatusCode, sha256Of(md))
	}
	for range 3 {
		resp, body := get(t, base+"/files/"+want.Filename)
		if resp.StatusCode != 200 || sha256Of(body) != want.SHA256 || resp.Header.Get("ETag") != `"`+want.SHA256+`"` {
			t.Fatalf("file: %d, sha256 %s", resp.StatusCode, sha256Of(body))
		}
	}
	if n := up.Requests("/files/" + want.Filename); n != 1 {
		t.Errorf("the upstream served the file %d times, want once", n)
	}
	if n := up.Requests("/files/" + want.Filename + ".metadata"); n != 1 {
		t.Errorf("the upstream served the metadata %d times, want once", n)
	}
	if st := s.Stats(); st.FilesCached != 1 || st.HashMismatches != 0 {
		t.Errorf("stats %+v", st)
	}
	cs, err := wheelhouse.Open(cache)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := cs.Lookup(want.Filename)
	if !ok || e.SHA256 != want.SHA256 || e.MetadataSHA256 != want.MetadataSHA256 || e.Project != "alpha-tools" || e.Version != "2.0" || e.Origin.Kind != wheelhouse.OriginIndex {
		t.Errorf("cache entry %+v", e)
	}
	if tmps, _ := filepath.Glob(filepath.Join(cache, "files", ".*")); len(tmps) != 0 {
		t.Errorf("temporary files left: %v", tmps)
	}
	// The cached file now shows as fetched through.
	_, body := get(t, base+"/")
	if !strings.Contains(string(body), "fetched through") {
		t.Error("overview does not show the fetched-through file")
	}
}

func TestCachedFallThroughFilesAreServedWhenTheUpstreamIsGone(t *testing.T) {
	f := startFallThrough(t, nil)
	st, base, up, want, cache := f.st, f.base, f.up, f.want, f.cache
	get(t, base+"/files/"+want.Filename)
	gone := up.URL()
	up.Close()

	for _, opt := range []Option{WithUpstream(gone), WithOffline(true)} {
		_, base2 := startServer(t, st, opt, WithCacheDir(cache))
		p := pageOf(t, base2, "alpha-tools")
		files := fileNames(p)
		if files[want.Filename] != want.SHA256 || len(files) != 4 {
			t.Errorf("page without upstream: %v", files)
		}
		for _, f := range p.Files {
			if f["filename"] == want.Filename && f["core-metadata"] == nil {
				t.Error("the cached wheel's metadata is not advertised")
			}
		}
		resp, body := get(t, base2+"/files/"+want.Filename)
		if resp.StatusCode != 200 || sha256Of(body) != want.SHA256 {
			t.Errorf("cached file: %d", resp.StatusCode)
		}
		resp, md := get(t, base2+"/files/"+want.Filename+".metadata")
		if resp.StatusCode != 200 || sha256Of(md) != want.MetadataSHA256 {
			t.Errorf("cached metadata: %d", resp.StatusCode)
		}
	}
}

func TestHashMismatchIsNeverCachedAndCutsTheDownload(t *testing.T) {
	log := &testLog{}
	f := startFallThrough(t, func(up *pypitest.Server, want *pypitest.File) { up.SetWrongHash(want.Filename, true) }, WithLogger(log.logger()))
	s, base, want, cache := f.s, f.base, f.want, f.cache
	for range 2 {
		resp, err := http.Get(base + "/files/" + want.Filename)
		if err != nil {
			continue // cut before the headers went out: as good
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Fatalf("the client got a complete answer (%d bytes) for a file that does not match its hash", len(body))
		}
		if len(body) >= want.Size {
			t.Errorf("the client got all %d bytes", len(body))
		}
	}
	if st := s.Stats(); st.HashMismatches != 2 || st.FilesCached != 0 {
		t.Errorf("stats %+v", st)
	}
	if left, _ := os.ReadDir(filepath.Join(cache, "files")); len(left) != 0 {
		t.Errorf("cache holds %v", left)
	}
	if !strings.Contains(log.String(), "does not match its listing") {
		t.Errorf("log: %s", log)
	}
}

func TestOpenBreakerAnswersLocallyAndProbesOncePerBackoff(t *testing.T) {
	st, _ := smallStore(t)
	up := pypitest.Start(t, upstreamIndex(), pypitest.WithFailPath("/simple/*/", pypitest.Fail500))
	clock := newFakeClock()
	log := &testLog{}
	s, base := startServer(t, st, WithUpstream(up.URL()), WithCacheDir(t.TempDir()), withClock(clock.now), WithLogger(log.logger()))
	request := func() {
		t.Helper()
		for _, p := range []string{"alpha-tools", "beta"} {
			if files := fileNames(pageOf(t, base, p)); len(files) != map[string]int{"alpha-tools": 3, "beta": 1}[p] {
				t.Errorf("%s: local files %v", p, files)
			}
		}
		for _, p := range []string{"gamma", "nobody"} {
			if resp, _ := get(t, base+"/simple/"+p+"/", pipAccept); resp.StatusCode != 404 {
				t.Errorf("%s: %d, want 404", p, resp.StatusCode)
			}
		}
	}
	steps := []struct {
		advance time.Duration
		total   int // upstream requests so far
	}{
		{0, 1},                 // the first page fails and opens the breaker for 30 s
		{20 * time.Second, 1},  // still open
		{11 * time.Second, 2},  // one probe, which fails: open for 60 s
		{59 * time.Second, 2},  // still open
		{2 * time.Second, 3},   // one probe: open for 120 s
		{121 * time.Second, 4}, // one probe: open for 240 s
		{241 * time.Second, 5}, // one probe: open for 300 s, the cap
		{299 * time.Second, 5},
		{2 * time.Second, 6},
	}
	for i, step := range steps {
		clock.advance(step.advance)
		for range 3 {
			request()
		}
		if got := up.TotalRequests(); got != step.total {
			t.Fatalf("step %d: the upstream got %d requests, want %d", i, got, step.total)
		}
	}
	if !strings.Contains(log.String(), "upstream unreachable") || !strings.Contains(log.String(), "project=nobody") {
		t.Errorf("log: %s", log)
	}
	var h Health
	_, body := get(t, base+"/-/healthz")
	if err := json.Unmarshal(body, &h); err != nil || h.Upstream.State != "unreachable" || h.Upstream.RetryIn == "" {
		t.Errorf("healthz: %s", body)
	}
	// Once the upstream answers, the breaker closes and pages merge again.
	up.ClearKnobs()
	clock.advance(301 * time.Second)
	if files := fileNames(pageOf(t, base, "alpha-tools")); len(files) != 4 {
		t.Errorf("after recovery: %v", files)
	}
	if files := fileNames(pageOf(t, base, "gamma")); len(files) != 1 {
		t.Errorf("gamma after recovery: %v", files)
	}
	if s.Health().Upstream.State != "ok" {
		t.Errorf("health %+v", s.Health().Upstream)
	}
}

func TestRefusedUpstreamCostsOneConnection(t *testing.T) {
	st, _ := smallStore(t)
	s, base := startServer(t, st, WithUpstream("http://"+refusingAddr(t)+"/simple/"), WithCacheDir(t.TempDir()))
	for range 20 {
		for _, p := range []string{"alpha-tools", "beta", "gamma", "delta"} {
			resp, _ := get(t, base+"/simple/"+p+"/", pipAccept)
			if want := map[bool]int{true: 200, false: 404}[p == "alpha-tools" || p == "beta"]; resp.StatusCode != want {
				t.Errorf("%s: %d, want %d", p, resp.StatusCode, want)
			}
		}
	}
	if st := s.Stats(); st.UpstreamRequests != 1 || st.UpstreamFailures != 1 || st.UpstreamSkipped != 79 {
		t.Errorf("stats %+v: want one request, one failure, 79 skipped", st)
	}
}

func TestSlowUpstreamTimesOutAndTripsTheBreaker(t *testing.T) {
	st, _ := smallStore(t)
	up := pypitest.Start(t, upstreamIndex(), pypitest.WithLatency(3*time.Second))
	s, base := startServer(t, st, WithUpstream(up.URL()), withTimeouts(200*time.Millisecond, 300*time.Millisecond))
	start := time.Now()
	for range 5 {
		if files := fileNames(pageOf(t, base, "beta")); len(files) != 1 {
			t.Errorf("beta: %v", files)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("5 pages took %s with a page timeout of 300ms", d)
	}
	if st := s.Stats(); st.UpstreamRequests != 1 || st.UpstreamFailures != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestUpstreamPagesAreCachedForTheTTLAndRevalidated(t *testing.T) {
	st, _ := smallStore(t)
	up := pypitest.Start(t, upstreamIndex())
	clock := newFakeClock()
	s, base := startServer(t, st, WithUpstream(up.URL()), WithTTL(10*time.Minute), withClock(clock.now))
	pageOf(t, base, "alpha-tools")
	clock.advance(9 * time.Minute)
	pageOf(t, base, "alpha-tools")
	if n := up.Requests("/simple/alpha-tools/"); n != 1 {
		t.Errorf("within the TTL: %d upstream requests, want 1", n)
	}
	clock.advance(2 * time.Minute)
	pageOf(t, base, "alpha-tools")
	if n, st := up.Requests("/simple/alpha-tools/"), s.Stats(); n != 2 || st.PagesRevalidated != 1 {
		t.Errorf("after the TTL: %d upstream requests, stats %+v; want a revalidation", n, st)
	}
	idx := upstreamIndex()
	idx.Projects[0].Releases = append(idx.Projects[0].Releases, release("3.0"))
	if err := up.SetIndex(idx); err != nil {
		t.Fatal(err)
	}
	clock.advance(11 * time.Minute)
	if p := pageOf(t, base, "alpha-tools"); !strings.Contains(strings.Join(p.Versions, ","), "3.0") {
		t.Errorf("a release published upstream does not show after the TTL: %v", p.Versions)
	}
}

func TestOfflineNeverContactsTheUpstream(t *testing.T) {
	st, _ := smallStore(t)
	up := pypitest.Start(t, upstreamIndex())
	_, base := startServer(t, st, WithUpstream(up.URL()), WithOffline(true))
	for _, p := range []string{"alpha-tools", "gamma", "nobody"} {
		get(t, base+"/simple/"+p+"/", pipAccept)
	}
	get(t, base+"/files/gamma-0.5-py3-none-any.whl")
	if n := up.TotalRequests(); n != 0 {
		t.Errorf("offline server sent %d requests upstream", n)
	}
	if files := fileNames(pageOf(t, base, "alpha-tools")); len(files) != 3 {
		t.Errorf("offline page: %v", files)
	}
}

func TestHTMLOnlyUpstreamIsReadToo(t *testing.T) {
	st, _ := smallStore(t)
	up := pypitest.Start(t, upstreamIndex(), pypitest.WithMode(pypitest.HTMLOnly))
	_, base := startServer(t, st, WithUpstream(up.URL()), WithCacheDir(t.TempDir()))
	want := filesOf(t, up, map[string]string{"alpha-tools": "2.0"}, "alpha-tools")[0]
	p := pageOf(t, base, "alpha-tools")
	if fileNames(p)[want.Filename] != want.SHA256 {
		t.Fatalf("HTML upstream: %v", fileNames(p))
	}
	for _, f := range p.Files {
		if f["filename"] == want.Filename {
			if cm, _ := f["core-metadata"].(map[string]any); cm["sha256"] != want.MetadataSHA256 || f["requires-python"] != ">=3.8" {
				t.Errorf("HTML upstream file: %v", f)
			}
		}
	}
	if resp, body := get(t, base+"/files/"+want.Filename); resp.StatusCode != 200 || sha256Of(body) != want.SHA256 {
		t.Errorf("download: %d", resp.StatusCode)
	}
}

func TestPrivateProjectsNeverFallThrough(t *testing.T) {
	spec := func(v string) *pypitest.Index {
		var idx pypitest.Index
		for _, n := range []string{"secret-lib", "forked", "Acme_Internal", "acme-ghost", "public"} {
			idx.Projects = append(idx.Projects, pypitest.Project{Name: n, Releases: []pypitest.Release{release(v)}})
		}
		return &idx
	}
	own := pypitest.Start(t, spec("1.0"))
	st := bake(t, own, t.TempDir(), filesOf(t, own, nil, "secret-lib", "forked", "acme-internal", "public"), func(e *wheelhouse.Entry) {
		switch e.Project {
		case "secret-lib":
			e.Private = true
		case "forked":
			e.Origin = wheelhouse.Origin{Kind: wheelhouse.OriginVCS, URL: "https://git.example/forked.git", Commit: "abc"}
		}
	})
	up := pypitest.Start(t, spec("99.0"))
	cache := t.TempDir()
	_, base := startServer(t, st, WithUpstream(up.URL()), WithPrivate("ACME.*"), WithCacheDir(cache))
	for _, p := range []string{"secret-lib", "forked", "acme-internal"} {
		files := fileNames(pageOf(t, base, p))
		if len(files) != 1 {
			t.Errorf("%s: %v, want the baked file only", p, files)
		}
		for f := range files {
			if !strings.Contains(f, "-1.0-") {
				t.Errorf("%s: lists %s", p, f)
			}
		}
	}
	if resp, _ := get(t, base+"/simple/acme-ghost/", pipAccept); resp.StatusCode != 404 {
		t.Errorf("a private name nobody baked: %d, want 404", resp.StatusCode)
	}
	if resp, _ := get(t, base+"/files/secret_lib-99.0-py3-none-any.whl"); resp.StatusCode != 404 {
		t.Errorf("the upstream's private file: %d", resp.StatusCode)
	}
	if files := fileNames(pageOf(t, base, "public")); len(files) != 2 {
		t.Errorf("public: %v, want baked and upstream", files)
	}
	for path, n := range up.Counts() {
		if !strings.Contains(path, "public") {
			t.Errorf("the upstream was asked %d times for %s", n, path)
		}
	}

	// A project cached through the upstream while public stays out of its
	// pages once it is declared private.
	get(t, base+"/files/public-99.0-py3-none-any.whl")
	_, base2 := startServer(t, st, WithUpstream(up.URL()), WithPrivate("public"), WithCacheDir(cache))
	if files := fileNames(pageOf(t, base2, "public")); len(files) != 1 {
		t.Errorf("public made private: %v", files)
	}
	if resp, _ := get(t, base2+"/files/public-99.0-py3-none-any.whl"); resp.StatusCode != 404 {
		t.Errorf("cached file of a now private project: %d", resp.StatusCode)
	}
	if n := up.Requests("/simple/public/"); n != 1 {
		t.Errorf("the upstream was asked %d times about public, want once (before it was private)", n)
	}
}

func TestParseHTMLPageKeepsOnlyTheProjectsFiles(t *testing.T) {
	const sha = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	doc := `<!DOCTYPE html><html><body>
<a href="../../packages/foo-1.0-py3-none-any.whl#sha256=` + sha + `" data-requires-python="&gt;=3.8" data-core-metadata="sha256=` + sha + `">foo-1.0-py3-none-any.whl</a>
<A HREF='https://files.example/foo-1.1.tar.gz#md5=abc' data-yanked="broken &amp; bad">foo-1.1.tar.gz</A>
<a href=https://files.example/FOO-1.2.zip data-dist-info-metadata=true>x</a>
<a href="https://files.example/bar-1.0-py3-none-any.whl#sha256=` + sha + `">bar</a>
<a href="javascript:alert(1)//foo-1.3.tar.gz">x</a>
<a href="file:///etc/foo-1.4.tar.gz">x</a>
<a href="https://files.example/foo-1.5.egg">x</a>
<a href="https://files.example/..%2ffoo-1.6.tar.gz">x</a>
<abbr href="foo-1.7.tar.gz">x</abbr>
</body></html>`
	page, _ := url.Parse("https://pypi.example/simple/foo/")
	parsed, err := parsePage("text/html", strings.NewReader(doc), page, "foo", nil)
	if err != nil {
		t.Fatal(err)
	}
	files := parsed.files
	if len(files) != 3 {
		for _, f := range files {
			t.Logf("%+v", *f)
		}
		t.Fatalf("kept %d files, want 3", len(files))
	}
	f := files[0]
	if f.filename != "foo-1.0-py3-none-any.whl" || f.url != "https://pypi.example/packages/foo-1.0-py3-none-any.whl" || f.sha256 != sha ||
		f.requiresPython != ">=3.8" || !f.meta || f.metaSHA != sha || f.yanked {
		t.Errorf("first file %+v", *f)
	}
	if f := files[1]; f.sha256 != "" || !f.yanked || f.yankedReason != "broken & bad" || f.meta {
		t.Errorf("second file %+v", *f)
	}
	if f := files[2]; f.filename != "FOO-1.2.zip" || !f.meta || f.metaSHA != "" {
		t.Errorf("third file %+v", *f)
	}
}

func TestParallelClientsPayForOneFailedConnection(t *testing.T) {
	st, _ := smallStore(t)
	s, base := startServer(t, st, WithUpstream("http://"+refusingAddr(t)+"/simple/"))
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			project := []string{"alpha-tools", "beta", fmt.Sprintf("missing-%d", i)}[i%3]
			resp, err := http.Get(base + "/simple/" + project + "/")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if want := map[bool]int{true: 404, false: 200}[strings.HasPrefix(project, "missing")]; resp.StatusCode != want {
				t.Errorf("%s: %d, want %d", project, resp.StatusCode, want)
			}
		}()
	}
	wg.Wait()
	if st := s.Stats(); st.UpstreamRequests != 1 || st.UpstreamFailures != 1 {
		t.Errorf("30 parallel pages: %+v, want one request", st)
	}
}

func TestTruncatedUpstreamDownloadIsCutAndNotCached(t *testing.T) {
	f := startFallThrough(t, truncateWant)
	s, base, up, want, cache := f.s, f.base, f.up, f.want, f.cache
	if resp, err := http.Get(base + "/files/" + want.Filename); err == nil {
		if _, err := io.ReadAll(resp.Body); err == nil {
			t.Error("the client got a complete answer for a truncated download")
		}
		resp.Body.Close()
	}
	if left, _ := os.ReadDir(filepath.Join(cache, "files")); len(left) != 0 {
		t.Errorf("cache holds %v", left)
	}
	// One bad transfer does not cut the upstream off.
	up.SetTruncate(want.Filename, -1)
	if resp, body := get(t, base+"/files/"+want.Filename); resp.StatusCode != 200 || sha256Of(body) != want.SHA256 {
		t.Errorf("retry: %d", resp.StatusCode)
	}
	if st := s.Stats(); st.UpstreamFailures != 0 || st.FilesCached != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestParseJSONPageReadsYankedAndBothMetadataKeys(t *testing.T) {
	const sha = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	doc := `{"meta": {"api-version": "1.1"}, "name": "foo", "versions": ["1.0", "2.0", "3.0"], "files": [
	 {"filename": "foo-1.0.tar.gz", "url": "/pkgs/foo-1.0.tar.gz", "hashes": {"sha256": "` + strings.ToUpper(sha) + `"}, "yanked": "broken build", "size": 10, "upload-time": "2024-01-02T03:04:05.123456Z"},
	 {"filename": "foo-2.0-py3-none-any.whl", "url": "https://files.example/foo-2.0-py3-none-any.whl", "hashes": {"sha512": "x"}, "dist-info-metadata": {"sha256": "` + sha + `"}, "yanked": true},
	 {"filename": "foo-3.0-py3-none-any.whl", "url": "foo-3.0-py3-none-any.whl", "hashes": {}, "core-metadata": true, "requires-python": ">=3.9"},
	 {"filename": "other-1.0.tar.gz", "url": "/pkgs/other-1.0.tar.gz", "hashes": {}},
	 {"filename": "foo-4.0.tar.gz", "url": "/pkgs/renamed-4.0.tar.gz", "hashes": {}}
	]}`
	page, _ := url.Parse("https://pypi.example/simple/foo/")
	parsed, err := parsePage("application/vnd.pypi.simple.v1+json", strings.NewReader(doc), page, "foo", nil)
	if err != nil {
		t.Fatal(err)
	}
	files, versions := parsed.files, parsed.versions
	if len(files) != 3 || strings.Join(versions, ",") != "1.0,2.0,3.0" {
		t.Fatalf("files %d, versions %v", len(files), versions)
	}
	if f := files[0]; f.url != "https://pypi.example/pkgs/foo-1.0.tar.gz" || f.sha256 != sha || !f.yanked || f.yankedReason != "broken build" || f.size != 10 || f.uploadTime.Nanosecond() != 123456000 {
		t.Errorf("first %+v", *f)
	}
	if f := files[1]; f.sha256 != "" || !f.yanked || f.yankedReason != "" || !f.meta || f.metaSHA != sha {
		t.Errorf("second %+v", *f)
	}
	if f := files[2]; f.url != "https://pypi.example/simple/foo/foo-3.0-py3-none-any.whl" || !f.meta || f.metaSHA != "" || f.requiresPython != ">=3.9" || f.size != -1 {
		t.Errorf("third %+v", *f)
	}
	p := renderProject(&listing{name: "foo", rows: []row{files[0].row(), files[1].row(), files[2].row()}, versions: versions}, 1<<20)
	html := string(p.html)
	for _, want := range []string{`data-yanked="broken build"`, `data-yanked=""`, `data-core-metadata="true"`, `content="1.0"`} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %s:\n%s", want, html)
		}
	}
	var j jsonPage
	if err := json.Unmarshal(p.json, &j); err != nil {
		t.Fatal(err)
	}
	if j.Meta["api-version"] != "1.0" || j.Versions != nil || j.Files[0]["yanked"] != "broken build" || j.Files[1]["yanked"] != true || j.Files[2]["core-metadata"] != true {
		t.Errorf("JSON %s", p.json)
	}
}
