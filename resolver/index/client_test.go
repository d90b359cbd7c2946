package index

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/flight/flighttest"
	"github.com/larder-build/larder/internal/pypitest"
)

func demoIndex() *pypitest.Index {
	return &pypitest.Index{Projects: []pypitest.Project{
		{Name: "Demo_Lib", Releases: []pypitest.Release{
			{Version: "1.0", Requires: []string{"six>=1.0"}, Wheels: []pypitest.Wheel{{Tags: "py3-none-any"}}, Sdist: true},
			{Version: "2.0", RequiresPython: ">=3.14", Wheels: []pypitest.Wheel{{Tags: "py3-none-any", Size: 300000}}},
			{Version: "1.5", Yanked: "broken build", Wheels: []pypitest.Wheel{{Tags: "py3-none-any"}}},
		}},
		{Name: "six", Releases: []pypitest.Release{{Version: "1.16.0", Wheels: []pypitest.Wheel{{Tags: "py2.py3-none-any"}}}}},
	}}
}

func newClient(t *testing.T, urls []string, opts ...Option) *Client {
	t.Helper()
	c, err := New(urls, append([]Option{WithCacheDir(t.TempDir()), WithRetries(2, time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestProjectReadsJSONAndHTMLPagesAlike(t *testing.T) {
	for _, mode := range []pypitest.Mode{pypitest.JSONOnly, pypitest.HTMLOnly} {
		t.Run(mode.String(), func(t *testing.T) {
			srv := pypitest.Start(t, demoIndex(), pypitest.WithMode(mode))
			c := newClient(t, []string{srv.URL()})
			p, err := c.Project(context.Background(), "demo-lib")
			if err != nil {
				t.Fatal(err)
			}
			byName := map[string]File{}
			for _, f := range p.Files {
				byName[f.Filename] = f
			}
			w := byName["demo_lib-2.0-py3-none-any.whl"]
			if w.RequiresPython != ">=3.14" || len(w.SHA256()) != 64 || !w.CoreMetadata || w.MetadataHashes["sha256"] == "" {
				t.Errorf("wheel 2.0 = %+v", w)
			}
			if y := byName["demo_lib-1.5-py3-none-any.whl"]; !y.Yanked || y.YankedReason != "broken build" {
				t.Errorf("yanked wheel = %+v", y)
			}
			if _, ok := byName["demo_lib-1.0.tar.gz"]; !ok {
				t.Errorf("sdist missing from %v", byName)
			}
			if !strings.HasPrefix(w.URL, "http://127.0.0.1:") || strings.Contains(w.URL, "#") {
				t.Errorf("file URL %q must be absolute and without fragment", w.URL)
			}
			if mode == pypitest.JSONOnly && (w.Size < 300000 || w.UploadTime.IsZero()) {
				t.Errorf("JSON size/upload-time missing: %+v", w)
			}
		})
	}
}

func TestProjectNotFoundAndFirstIndexWins(t *testing.T) {
	first := pypitest.Start(t, &pypitest.Index{Projects: []pypitest.Project{{Name: "six", Releases: []pypitest.Release{{Version: "1.0", Wheels: []pypitest.Wheel{{Tags: "py3-none-any"}}}}}}})
	second := pypitest.Start(t, demoIndex())
	c := newClient(t, []string{first.URL(), second.URL()})
	p, err := c.Project(context.Background(), "six")
	if err != nil || p.Index != first.URL() || len(p.Files) != 1 {
		t.Fatalf("six came from %v (%d files), %v; want the first index only", p, len(p.Files), err)
	}
	p, err = c.Project(context.Background(), "demo-lib")
	if err != nil || p.Index != second.URL() {
		t.Fatalf("demo-lib: %v %v", p, err)
	}
	_, err = c.Project(context.Background(), "nope")
	var nf *NotFoundError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("got %v, want a NotFoundError naming the project", err)
	}
}

func TestPinnedProjectIsOnlyLookedUpOnItsIndex(t *testing.T) {
	public := pypitest.Start(t, demoIndex())
	private := pypitest.Start(t, &pypitest.Index{})
	c := newClient(t, []string{public.URL()}, WithProjectIndex("six", private.URL()))
	if _, err := c.Project(context.Background(), "six"); err == nil {
		t.Fatal("six is pinned to an index that lacks it: want not found")
	}
	if n := public.Requests("/simple/six/"); n != 0 {
		t.Errorf("the public index was asked %d times for a pinned project", n)
	}
}

func TestPagesAreRevalidatedNotRefetched(t *testing.T) {
	srv := pypitest.Start(t, demoIndex(), pypitest.WithCacheControl("max-age=0"))
	cache := t.TempDir()
	for i := range 2 {
		c := newClient(t, []string{srv.URL()}, WithCacheDir(cache))
		if _, err := c.Project(context.Background(), "six"); err != nil {
			t.Fatal(err)
		}
		s := c.Stats()
		if i == 0 && s.PagesFetched != 1 {
			t.Errorf("first run: %+v", s)
		}
		if i == 1 && (s.PagesFetched != 0 || s.Revalidated != 1) {
			t.Errorf("second run should revalidate with a 304: %+v", s)
		}
	}
}

// TestAPageNeverFreshIsNotRewrittenWhenUnchanged revalidates a page sent
// without Cache-Control three times: each run asks with its ETag and gets a
// 304, and the entry stored the first time is left as it is.
func TestAPageNeverFreshIsNotRewrittenWhenUnchanged(t *testing.T) {
	srv := pypitest.Start(t, demoIndex())
	cache := t.TempDir()
	var stored []byte
	for run := range 3 {
		c := newClient(t, []string{srv.URL()}, WithCacheDir(cache))
		if _, err := c.Project(context.Background(), "six"); err != nil {
			t.Fatal(err)
		}
		if s := c.Stats(); run > 0 && (s.PagesFetched != 0 || s.Revalidated != 1) {
			t.Errorf("run %d should revalidate with a 304: %+v", run, s)
		}
		entry, err := os.ReadFile(c.cache.pagePath(c.Indexes()[0] + "six/"))
		if err != nil {
			t.Fatal(err)
		}
		if run == 0 {
			stored = entry
		} else if !bytes.Equal(entry, stored) {
			t.Errorf("run %d rewrote the entry of an unchanged page", run)
		}
	}
}

func TestFreshPagesComeFromTheCacheWithoutARequest(t *testing.T) {
	srv := pypitest.Start(t, demoIndex(), pypitest.WithCacheControl("max-age=600"))
	cache := t.TempDir()
	for range 2 {
		c, _ := New([]string{srv.URL()}, WithCacheDir(cache))
		if _, err := c.Project(context.Background(), "six"); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Requests("/simple/six/"); n != 1 {
		t.Errorf("page requested %d times, want 1", n)
	}
}

func TestMetadataComesFromTheBestSourceAndOnlyOnce(t *testing.T) {
	tests := []struct {
		name  string
		opts  []pypitest.Option
		stat  func(Stats) int64
		files int // requests to the wheel itself
	}{
		{"PEP 658 file", nil, func(s Stats) int64 { return s.MetadataFiles }, 0},
		{"range requests", []pypitest.Option{pypitest.WithoutAnyMetadata()}, func(s Stats) int64 { return s.RangeReads }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := pypitest.Start(t, demoIndex(), tt.opts...)
			cache := t.TempDir()
			for run := range 2 {
				c, _ := New([]string{srv.URL()}, WithCacheDir(cache))
				p, err := c.Project(context.Background(), "demo-lib")
				if err != nil {
					t.Fatal(err)
				}
				var w File
				for _, f := range p.Files {
					if f.Filename == "demo_lib-2.0-py3-none-any.whl" {
						w = f
					}
				}
				if got := c.MetadataCached(w); got != (run == 1) {
					t.Errorf("run %d: MetadataCached before reading = %v", run, got)
				}
				md, err := c.Metadata(context.Background(), w)
				if err != nil {
					t.Fatal(err)
				}
				if !c.MetadataCached(w) {
					t.Errorf("run %d: MetadataCached after reading = false", run)
				}
				if !strings.Contains(string(md), "Version: 2.0") {
					t.Errorf("metadata:\n%s", md)
				}
				s := c.Stats()
				if run == 0 && tt.stat(s) != 1 {
					t.Errorf("first run stats %+v", s)
				}
				if run == 1 && (s.MetadataHits != 1 || s.MetadataFiles+s.RangeReads+s.FullDownloads != 0) {
					t.Errorf("second run must come from the cache: %+v", s)
				}
			}
			if got := srv.Requests("/files/demo_lib-2.0-py3-none-any.whl"); tt.files == 0 && got != 0 {
				t.Errorf("the wheel was downloaded %d times", got)
			}
		})
	}
}

func TestMetadataFallsBackToFullDownloadWithoutRanges(t *testing.T) {
	srv := pypitest.Start(t, demoIndex(), pypitest.WithoutAnyMetadata())
	// A proxy that strips Range, like some simple static servers.
	noRange := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Del("Range")
		req, _ := http.NewRequest(r.Method, srv.BaseURL()+r.URL.Path, nil)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			w.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}))
	defer noRange.Close()
	c := newClient(t, []string{noRange.URL + "/simple/"})
	p, err := c.Project(context.Background(), "six")
	if err != nil {
		t.Fatal(err)
	}
	md, err := c.Metadata(context.Background(), p.Files[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "Name: six") || c.Stats().FullDownloads != 1 {
		t.Errorf("stats %+v, metadata %s", c.Stats(), md)
	}
}

func TestWrongMetadataHashIsAnError(t *testing.T) {
	srv := pypitest.Start(t, demoIndex())
	c := newClient(t, []string{srv.URL()})
	p, err := c.Project(context.Background(), "six")
	if err != nil {
		t.Fatal(err)
	}
	f := p.Files[0]
	f.MetadataHashes = map[string]string{"sha256": strings.Repeat("0", 64)}
	_, err = c.Metadata(context.Background(), f)
	var hm *HashMismatchError
	if !errors.As(err, &hm) || !strings.Contains(err.Error(), strings.Repeat("0", 64)) {
		t.Errorf("got %v, want a hash mismatch naming both digests", err)
	}
}

func TestServerErrorsAreRetriedThenReported(t *testing.T) {
	srv := pypitest.Start(t, demoIndex(), pypitest.WithFailRequest(1, pypitest.Fail500), pypitest.WithFailRequest(2, pypitest.FailReset))
	c := newClient(t, []string{srv.URL()})
	if _, err := c.Project(context.Background(), "six"); err != nil {
		t.Fatalf("two failures then success must succeed with 2 retries: %v", err)
	}
	// Go's transport itself retries a GET whose reused connection was
	// reset, so count at the server: both failures were seen.
	if s := c.Stats(); s.Retries < 1 || srv.Requests("/simple/six/") != 3 {
		t.Errorf("retries = %d, server saw %d requests; want the failures retried", s.Retries, srv.Requests("/simple/six/"))
	}
	srv.FailPath("/simple/demo-lib/", pypitest.Fail500)
	_, err := c.Project(context.Background(), "demo-lib")
	if err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "after 3 attempts") {
		t.Errorf("got %v", err)
	}
}

func TestUnreachableIndexNamesTheURL(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	c := newClient(t, []string{"http://" + addr + "/simple/"}, WithRetries(1, time.Millisecond))
	_, err = c.Project(context.Background(), "six")
	if err == nil || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("got %v", err)
	}
}

func TestMalformedPagesAreReported(t *testing.T) {
	tests := []struct{ ctype, body, want string }{
		{"application/vnd.pypi.simple.v1+json", `{"meta": {"api-version": "2.0"}, "files": []}`, "api-version"},
		{"application/vnd.pypi.simple.v1+json", `{"meta": `, "decoding JSON"},
		{"application/vnd.pypi.simple.v1+json", `{"meta": {"api-version": "1.0"}, "files": [{"filename": "x.whl"}]}`, "url are required"},
		{"application/json", `{}`, "unexpected content type"},
		{"text/html", `<a>no href</a>`, "anchor without href"},
	}
	for _, tt := range tests {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", tt.ctype)
			w.Write([]byte(tt.body))
		}))
		c := newClient(t, []string{srv.URL + "/simple/"})
		_, err := c.Project(context.Background(), "six")
		var me *MalformedError
		if !errors.As(err, &me) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s %q: got %v, want malformed page error with %q", tt.ctype, tt.body, err, tt.want)
		}
		srv.Close()
	}
}

func TestOfflineUsesOnlyTheCache(t *testing.T) {
	srv := pypitest.Start(t, demoIndex())
	cache := t.TempDir()
	c, _ := New([]string{srv.URL()}, WithCacheDir(cache))
	if _, err := c.Project(context.Background(), "six"); err != nil {
		t.Fatal(err)
	}
	srv.Reset()
	off, _ := New([]string{srv.URL()}, WithCacheDir(cache), WithOffline(true))
	if _, err := off.Project(context.Background(), "six"); err != nil {
		t.Fatalf("cached page offline: %v", err)
	}
	if _, err := off.Project(context.Background(), "demo-lib"); err == nil || !strings.Contains(err.Error(), "offline") {
		t.Errorf("uncached page offline: %v", err)
	}
	if srv.TotalRequests() != 0 {
		t.Errorf("offline client sent %d requests", srv.TotalRequests())
	}
}

// TestAnIndexURLsPasswordIsNeverInAnError: an index reached with a
// password in its URL (as pip takes one) names the URL in its errors,
// with the password hidden.
func TestAnIndexURLsPasswordIsNeverInAnError(t *testing.T) {
	srv := pypitest.Start(t, demoIndex())
	srv.FailPath("/simple/six/", pypitest.Fail500)
	withPassword := strings.Replace(srv.URL(), "http://", "http://user:secret@", 1)
	c := newClient(t, []string{withPassword}, WithRetries(0, time.Millisecond))
	_, err := c.Project(context.Background(), "six")
	if err == nil || strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "user:xxxxx@") {
		t.Errorf("a page answered 500: %v, want the URL named without its password", err)
	}
	if _, err := c.Project(context.Background(), "no-such-project"); err == nil || strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), "user:xxxxx@") {
		t.Errorf("a project no index has: %v, want the index named without its password", err)
	}
	private := newClient(t, []string{withPassword}, WithPrivate([]string{"corp-*"}), withPublic(func(string) bool { return true }))
	if _, err := private.Project(context.Background(), "corp-lib"); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("a private project and only public indexes: %v, want the indexes named without their passwords", err)
	}
	if _, err := New([]string{"ftp://user:secret@example.org/simple/"}); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("an index URL refused: %v, want it named without its password", err)
	}
}

// TestACallerThatArrivesAfterAPagesFlightEndedTakesItsPage: a caller
// that found no page and reached the page's flight only after the
// flight that fetched it had ended (and was forgotten) takes the page
// fetched rather than asking the index again; the page is sent without
// Cache-Control, so asking again would be a request (a revalidation).
func TestACallerThatArrivesAfterAPagesFlightEndedTakesItsPage(t *testing.T) {
	srv := pypitest.Start(t, demoIndex())
	c := newClient(t, []string{srv.URL()})
	missed := make(chan struct{})
	proceed := make(chan struct{})
	var first sync.Once
	c.testHookPageMissed = func(string) {
		held := false
		first.Do(func() { held = true })
		if held {
			close(missed)
			<-proceed
		}
	}
	late := make(chan error, 1)
	go func() {
		_, err := c.Project(t.Context(), "six")
		late <- err
	}()
	select {
	case <-missed:
	case <-time.After(10 * time.Second):
		t.Fatal("the first caller did not look the page up within 10 s")
	}
	if _, err := c.Project(t.Context(), "six"); err != nil {
		t.Fatal(err)
	}
	close(proceed)
	if err := <-late; err != nil {
		t.Fatal(err)
	}
	if n := srv.Requests("/simple/six/"); n != 1 {
		t.Errorf("page requested %d times for two callers of one client, want 1", n)
	}
}

// TestACallerThatGivesUpOnAPageDoesNotFailTheOthersWaitingForIt: the
// caller whose request for a page is under way gives up (a warm-up
// abandoned, a target's fetch cut short) while another caller waits for
// the same page: the one that gave up gets its own context's error at
// once, the other gets the page, and the index is asked once.
func TestACallerThatGivesUpOnAPageDoesNotFailTheOthersWaitingForIt(t *testing.T) {
	idx := pypitest.New(demoIndex())
	url, hold := flighttest.Serve(t, idx, func(r *http.Request) bool { return r.URL.Path == "/simple/six/" })
	c := newClient(t, []string{url + "/simple/"})
	joined := make(chan struct{})
	c.group.Joined = func(string) { close(joined) }
	project := func(ctx context.Context) error {
		p, err := c.Project(ctx, "six")
		if err == nil && (p == nil || len(p.Files) == 0) {
			err = errors.New("a page with no files")
		}
		return err
	}
	errOf := func(err error) error { return err }
	if err := flighttest.GiveUp(t, project, errOf, hold.Started(), joined, hold.Release); err != nil {
		t.Errorf("the caller that waited: %v, want the page", err)
	}
	if n := hold.Asked(); n != 1 {
		t.Errorf("page requested %d times, want 1", n)
	}
}
