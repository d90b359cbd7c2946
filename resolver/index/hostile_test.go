package index

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/internal/watchdog"
)

// These tests play a hostile or broken index against the client: each
// request must end in bounded time and memory with an error naming the
// URL, and nothing unverified may reach the cache.

// TestRangeAnswersThatLieAreRefused has a server answer the range
// requests of a wheel's metadata with a Content-Range other than the one
// asked: the client once looped forever on a range ending past the total,
// read whatever length the server claimed into memory, and panicked on a
// short block.
func TestRangeAnswersThatLieAreRefused(t *testing.T) {
	const size = 1 << 20
	for _, tc := range []struct {
		name string
		// answer returns the Content-Range for a request's Range header
		// and how many bytes to send; "" answers honestly.
		answer func(rng string) (contentRange string, n int64)
	}{
		{"range ends past the total", func(string) (string, int64) { return "bytes 0-9/5", 10 }},
		{"far more than asked", func(string) (string, int64) {
			return fmt.Sprintf("bytes 0-%d/%d", 1<<40-1, int64(1)<<40), 256 << 20
		}},
		{"end before start", func(string) (string, int64) { return "bytes 10-5/100", 0 }},
		{"short block after an honest tail", func(rng string) (string, int64) {
			if strings.HasPrefix(rng, "bytes=-") {
				return "", 0
			}
			return fmt.Sprintf("bytes 0-0/%d", size), 1
		}},
		{"total changes between answers", func(rng string) (string, int64) {
			if strings.HasPrefix(rng, "bytes=-") {
				return "", 0
			}
			from, to := 0, 0
			fmt.Sscanf(rng, "bytes=%d-%d", &from, &to)
			return fmt.Sprintf("bytes %d-%d/%d", from, to, 2*size), int64(to - from + 1)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sent atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rng := r.Header.Get("Range")
				cr, n := tc.answer(rng)
				if cr == "" { // honest: the suffix of a file of size bytes
					var k int64
					fmt.Sscanf(rng, "bytes=-%d", &k)
					cr, n = fmt.Sprintf("bytes %d-%d/%d", size-k, size-1, size), k
				}
				w.Header().Set("Content-Range", cr)
				w.WriteHeader(http.StatusPartialContent)
				sendZeros(w, n, &sent)
			}))
			defer srv.Close()
			c := newClient(t, []string{srv.URL})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			r := &rangeReader{ctx: ctx, c: c, url: srv.URL + "/x-1.0-py3-none-any.whl", size: -1, blocks: map[int64][]byte{}}
			err := r.init()
			if err == nil {
				p := make([]byte, 3*blockSize)
				_, err = r.ReadAt(p, 0)
			}
			if !errors.Is(err, errNoRanges) {
				t.Errorf("range reads against a lying server: %v; want errNoRanges (a full, verified download instead)", err)
			}
			if ctx.Err() != nil {
				t.Errorf("range reads took the whole 10 s")
			}
			// The server's count includes what the sockets' buffers took
			// in (a few MiB on loopback) before the client hung up.
			if s := sent.Load(); s > 16<<20 {
				t.Errorf("the server got %d bytes out before the client hung up; want little more than what was asked", s)
			}
		})
	}
}

// TestAServerThatStallsIsCutNamingTheURL has a server accept the
// connection and never answer, or answer and then send nothing more: the
// client waited for ever on a body (only the headers had a deadline, of
// 30 s).
func TestAServerThatStallsIsCutNamingTheURL(t *testing.T) {
	for _, tc := range []struct {
		name string
		path string
		ask  func(c *Client, base string) error
	}{
		{"a page that never ends", "/simple/demo/", func(c *Client, _ string) error {
			_, err := c.Project(context.Background(), "demo")
			return err
		}},
		{"a metadata file that never ends", "/demo-1.0-py3-none-any.whl.metadata", func(c *Client, base string) error {
			_, err := c.Metadata(context.Background(), File{Filename: "demo-1.0-py3-none-any.whl", URL: base + "/demo-1.0-py3-none-any.whl",
				Hashes: map[string]string{"sha256": strings.Repeat("a", 64)}, CoreMetadata: true})
			return err
		}},
		{"no answer at all", "/simple/demo/", func(c *Client, _ string) error {
			_, err := c.Project(context.Background(), "demo")
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var requests atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				if tc.name != "no answer at all" {
					w.Header().Set("Content-Type", "text/html")
					w.WriteHeader(http.StatusOK)
					_, _ = w.Write([]byte("<html><body><a href"))
					w.(http.Flusher).Flush()
				}
				select { // until the client hangs up, or the test ends
				case <-r.Context().Done():
				case <-time.After(20 * time.Second):
				}
			}))
			defer srv.Close()
			c := newClient(t, []string{srv.URL + "/simple/"})
			c.stall = 200 * time.Millisecond
			start := time.Now()
			err := tc.ask(c, srv.URL)
			took := time.Since(start)
			if err == nil || !strings.Contains(err.Error(), srv.URL+tc.path) || !errors.Is(err, watchdog.ErrStalled) {
				t.Errorf("got %v; want a stall naming %s", err, srv.URL+tc.path)
			}
			// Three attempts of 200 ms and two back-offs of a millisecond.
			if took > 3*time.Second {
				t.Errorf("took %v; want about 600 ms", took)
			}
			if n := requests.Load(); n != 3 {
				t.Errorf("%d requests; want 3 (the stall is retried)", n)
			}
		})
	}
}

// TestAFileLongerOrShorterThanListedIsRefused has a server send more or
// fewer bytes than the page listed for a file the client downloads to
// read its metadata: the client wrote whatever came to a temporary file
// (an endless body filled the disk) before the hash check refused it.
func TestAFileLongerOrShorterThanListedIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		send int64
	}{
		{"endless", 1 << 40},
		{"one byte short", 999},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sent atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Range") != "" { // no ranges: the whole file
					w.Header().Set("Accept-Ranges", "none")
				}
				sendZeros(w, tc.send, &sent)
			}))
			defer srv.Close()
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			c := newClient(t, []string{srv.URL})
			f := File{Filename: "demo-1.0-py3-none-any.whl", URL: srv.URL + "/demo-1.0-py3-none-any.whl", Size: 1000,
				Hashes: map[string]string{"sha256": strings.Repeat("a", 64)}}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err := c.Metadata(ctx, f)
			var sm *SizeMismatchError
			if !errors.As(err, &sm) || !strings.Contains(err.Error(), f.URL) {
				t.Errorf("got %v; want a SizeMismatchError naming %s", err, f.URL)
			}
			if s := sent.Load(); s > 16<<20 {
				t.Errorf("the server got %d bytes out; want little more than the 1000 listed", s)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("left behind in the temporary folder: %v", left)
			}
		})
	}
}

// TestAPageIsNeverFreshForLongerThanTheBound has an index send max-age
// values that would keep a page for years, or overflow a duration: a
// page is asked again after maxFreshSeconds whatever the index said.
func TestAPageIsNeverFreshForLongerThanTheBound(t *testing.T) {
	for _, maxAge := range []string{"315360000", "9223372036854775807", "9300000000"} {
		t.Run(maxAge, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
				w.Header().Set("Cache-Control", "max-age="+maxAge)
				_, _ = w.Write([]byte(`{"meta":{"api-version":"1.0"},"name":"demo","files":[]}`))
			}))
			defer srv.Close()
			c := newClient(t, []string{srv.URL})
			if _, err := c.Project(context.Background(), "demo"); err != nil {
				t.Fatal(err)
			}
			e, ok := c.cache.getPage(srv.URL + "/demo/")
			if !ok {
				t.Fatal("the page is not in the cache")
			}
			if !e.fresh(time.Now()) {
				t.Errorf("max-age=%s: not fresh right away", maxAge)
			}
			if later := time.Now().Add(maxFreshSeconds*time.Second + time.Minute); e.fresh(later) {
				t.Errorf("max-age=%s: still fresh at %v, past the bound of %d s", maxAge, later, maxFreshSeconds)
			}
		})
	}
}

// TestAPageOfOneFileTooManyIsRefused has an index list one file more
// than maxPageFiles on a page a few MB long: the page is refused as
// malformed, naming its URL and the bound. (The test below fills a whole
// page, under -short too slow to run.)
func TestAPageOfOneFileTooManyIsRefused(t *testing.T) {
	const anchor = "<a href=a>x</a>\n"
	html := "<html><body>\n" + strings.Repeat(anchor, maxPageFiles+1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, html)
	}))
	defer srv.Close()
	c := newClient(t, []string{srv.URL}, WithCacheDir(""))
	_, err := c.Project(context.Background(), "demo")
	var me *MalformedError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), srv.URL+"/demo/") ||
		!strings.Contains(err.Error(), fmt.Sprintf("more than %d files", maxPageFiles)) {
		t.Errorf("got %v; want a malformed page naming its URL and the bound of %d files", err, maxPageFiles)
	}
}

// TestAPageOfTooManyFilesIsRefusedInBoundedMemory has an index list
// millions of files on one page, within the page size: four million
// anchors once took 1.9 GB and 6.6 s to parse.
func TestAPageOfTooManyFilesIsRefusedInBoundedMemory(t *testing.T) {
	testenv.Slow(t, "builds and parses a 64 MiB page, allocating some 500 MiB")
	var html bytes.Buffer
	html.WriteString("<html><body>\n")
	for html.Len() < maxPageSize-100 {
		html.WriteString("<a href=a>x</a>\n")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write(html.Bytes())
	}))
	defer srv.Close()
	c := newClient(t, []string{srv.URL}, WithCacheDir(""))
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := c.Project(context.Background(), "demo")
	runtime.ReadMemStats(&after)
	var me *MalformedError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), srv.URL+"/demo/") || !strings.Contains(err.Error(), "more than") {
		t.Errorf("got %v; want a malformed page naming its URL and the bound", err)
	}
	// The body (64 MiB, read twice: the server's copy is outside this
	// count) and the files kept up to the bound.
	got := (after.TotalAlloc - before.TotalAlloc) >> 20
	t.Logf("allocated %d MiB", got)
	if got > 800 {
		t.Errorf("allocated %d MiB; want about 500 at most", got)
	}
}

// TestFilesOutsideHTTPAreLeftOut has a page list files at file:, ftp:
// and javascript: URLs beside an http one: only the http one is kept.
func TestFilesOutsideHTTPAreLeftOut(t *testing.T) {
	sum := "#sha256=" + strings.Repeat("a", 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		for _, href := range []string{"file:///etc/demo-1.0.tar.gz", "ftp://example.com/demo-1.1.tar.gz", "javascript:alert(1)", "demo-1.2.tar.gz"} {
			fmt.Fprintf(w, "<a href=%q>x</a>\n", href+sum)
		}
	}))
	defer srv.Close()
	c := newClient(t, []string{srv.URL})
	p, err := c.Project(context.Background(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Files) != 1 || p.Files[0].URL != srv.URL+"/demo/demo-1.2.tar.gz" {
		t.Errorf("files %+v; want demo-1.2.tar.gz over http alone", p.Files)
	}
}

// TestRedirectsAreBoundedAndNeverLeaveHTTPS has an https index redirect
// its page to plain http, and another redirect in a loop: the first was
// followed (a page's hashes then came over plain http), the second is
// cut after a bound, both with an error naming the URL.
func TestRedirectsAreBoundedAndNeverLeaveHTTPS(t *testing.T) {
	var plainHits atomic.Int64
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plainHits.Add(1)
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<a href=\"demo-1.0.tar.gz#sha256=%s\">x</a>", strings.Repeat("a", 64))
	}))
	defer plain.Close()
	for _, tc := range []struct {
		name, want string
		to         func(r *http.Request) string
	}{
		{"to plain http", "not https", func(r *http.Request) string { return plain.URL + r.URL.Path }},
		{"in a loop", "stopped after 10 redirects", func(r *http.Request) string { return r.URL.Path }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hits atomic.Int64
			srv, _ := startTLS(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				http.Redirect(w, r, tc.to(r), http.StatusFound)
			}), true)
			c := newTLSClient(t, srv)
			_, err := c.Project(context.Background(), "demo")
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), srv.URL+"/simple/demo/") {
				t.Errorf("got %v; want %q naming the page", err, tc.want)
			}
			if n := hits.Load(); n > 11 {
				t.Errorf("%d requests; want at most 11", n)
			}
		})
	}
	if n := plainHits.Load(); n != 0 {
		t.Errorf("the plain http server was asked %d times", n)
	}
}

// TestAHashThatIsAPathWritesNothingOutsideTheCache has a page give a
// file the sha256 "../../../escaped", which named the metadata cache's
// file: the metadata the index served was written outside the cache
// (anywhere the user may write: ~/.bashrc).
func TestAHashThatIsAPathWritesNothingOutsideTheCache(t *testing.T) {
	const evil = "../../../escaped"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/demo/":
			w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
			fmt.Fprintf(w, `{"meta":{"api-version":"1.0"},"name":"demo","files":[{"filename":"demo-1.0-py3-none-any.whl","url":"demo-1.0-py3-none-any.whl","hashes":{"sha256":%q},"core-metadata":true}]}`, evil)
		case "/demo/demo-1.0-py3-none-any.whl.metadata":
			_, _ = w.Write([]byte("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n\necho pwned\n"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	base := t.TempDir()
	dir := base + "/a/b/c/cache"
	c := newClient(t, []string{srv.URL}, WithCacheDir(dir))
	_, err := c.Project(context.Background(), "demo")
	var me *MalformedError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "not 64 hex digits") {
		t.Errorf("a page with the sha256 %q: %v; want it refused as malformed", evil, err)
	}
	// A file that comes by another way than a page is kept out too.
	f := File{Filename: "demo-1.0-py3-none-any.whl", URL: srv.URL + "/demo/demo-1.0-py3-none-any.whl", Size: -1,
		Hashes: map[string]string{"sha256": evil}, CoreMetadata: true}
	if _, err := c.Metadata(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	if c.MetadataCached(f) {
		t.Errorf("metadata of a file whose sha256 is %q is cached", evil)
	}
	_ = filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasPrefix(p, dir+"/") {
			t.Errorf("written outside the cache: %s", p)
		}
		return nil
	})
}

// TestMetadataAnIndexServesIsNotBelievedForAnotherIndexsFile has a
// hostile index list PyPI's wheel of six (its sha256) with a .metadata
// file of its own that requires "evil", and a lock against the honest
// index then share the cache: the hostile metadata was cached under the
// wheel's sha256 alone, and the honest lock required evil.
func TestMetadataAnIndexServesIsNotBelievedForAnotherIndexsFile(t *testing.T) {
	honest := pypitest.Start(t, demoIndex())
	dir := t.TempDir()
	hc := newClient(t, []string{honest.URL()}, WithCacheDir(dir))
	page, err := hc.Project(context.Background(), "six")
	if err != nil {
		t.Fatal(err)
	}
	six := page.Files[0]
	forged := []byte("Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\nRequires-Dist: evil\n")
	sum := sha256.Sum256(forged)
	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/six/":
			w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
			fmt.Fprintf(w, `{"meta":{"api-version":"1.0"},"name":"six","files":[{"filename":%q,"url":%q,"hashes":{"sha256":%q},"core-metadata":{"sha256":%q}}]}`,
				six.Filename, six.Filename, six.SHA256(), hex.EncodeToString(sum[:]))
		case "/six/" + six.Filename + ".metadata":
			_, _ = w.Write(forged)
		default:
			http.NotFound(w, r)
		}
	}))
	defer hostile.Close()
	bad := newClient(t, []string{hostile.URL}, WithCacheDir(dir))
	hp, err := bad.Project(context.Background(), "six")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := bad.Metadata(context.Background(), hp.Files[0]); err != nil || !bytes.Equal(b, forged) {
		t.Fatalf("the hostile index's own metadata: %q, %v", b, err)
	}
	for _, c := range []*Client{hc, newClient(t, []string{honest.URL()}, WithCacheDir(dir))} {
		b, err := c.Metadata(context.Background(), six)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("evil")) {
			t.Errorf("the honest index's six has the hostile index's metadata:\n%s", b)
		}
	}
}

// TestAnHTMLPageFromAFutureMajorVersionIsRefused has an HTML page say
// PEP 629's repository version 2.0: a JSON page saying so was refused,
// an HTML one read as if it were 1.x.
func TestAnHTMLPageFromAFutureMajorVersionIsRefused(t *testing.T) {
	for _, tc := range []struct {
		version string
		ok      bool
	}{{"2.0", false}, {"1.4", true}, {"", true}} {
		t.Run("version "+tc.version, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				if tc.version != "" {
					fmt.Fprintf(w, "<html><head><meta name=\"pypi:repository-version\" content=%q></head>", tc.version)
				}
				fmt.Fprintf(w, "<body><a href=\"demo-1.0.tar.gz#sha256=%s\">demo-1.0.tar.gz</a></body></html>", strings.Repeat("a", 64))
			}))
			defer srv.Close()
			p, err := newClient(t, []string{srv.URL}).Project(context.Background(), "demo")
			var me *MalformedError
			switch {
			case tc.ok && (err != nil || len(p.Files) != 1):
				t.Errorf("got %v; want the page's one file", err)
			case !tc.ok && (!errors.As(err, &me) || !strings.Contains(err.Error(), "2.0")):
				t.Errorf("got %v; want the page refused for its version", err)
			}
		})
	}
}

// TestAPageTrickledSlowerThanTheMinimumRateIsCut has a server send a
// page ten bytes every 50 ms, never silent long enough to stall (a
// second, roomy against 50 ms on a loaded machine): it held the lock for
// as long as the server went on.
func TestAPageTrickledSlowerThanTheMinimumRateIsCut(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		for range 400 { // 20 s at most
			if _, err := w.Write([]byte("<!-- x -->")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}))
	defer srv.Close()
	c := newClient(t, []string{srv.URL})
	c.stall = time.Second
	start := time.Now()
	_, err := c.Project(context.Background(), "demo")
	if !errors.Is(err, watchdog.ErrTooSlow) || !strings.Contains(err.Error(), srv.URL+"/demo/") {
		t.Errorf("got %v; want a body too slow, naming the page", err)
	}
	if took := time.Since(start); took > 5*c.stall {
		t.Errorf("took %v; want about %v", took, c.stall)
	}
}

// TestFilesAtHTTPURLsInAnySpellingAreKept has a page link its files
// relatively, protocol-relative (//host/...), absolutely and with an
// upper-case scheme: all are http and all are kept, resolved against
// the page.
func TestFilesAtHTTPURLsInAnySpellingAreKept(t *testing.T) {
	sum := "#sha256=" + strings.Repeat("a", 64)
	var host string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		for _, href := range []string{"demo-1.0.tar.gz", "../../files/demo-1.1.tar.gz", "//" + host + "/f/demo-1.2.tar.gz", "http://" + host + "/f/demo-1.3.tar.gz", "HTTP://" + host + "/f/demo-1.4.tar.gz"} {
			fmt.Fprintf(w, "<a href=%q>x</a>\n", href+sum)
		}
	}))
	defer srv.Close()
	host = strings.TrimPrefix(srv.URL, "http://")
	c := newClient(t, []string{srv.URL + "/simple/"})
	p, err := c.Project(context.Background(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range p.Files {
		got = append(got, f.URL)
	}
	want := []string{srv.URL + "/simple/demo/demo-1.0.tar.gz", srv.URL + "/files/demo-1.1.tar.gz", srv.URL + "/f/demo-1.2.tar.gz", srv.URL + "/f/demo-1.3.tar.gz", srv.URL + "/f/demo-1.4.tar.gz"}
	if !slices.Equal(got, want) {
		t.Errorf("files at\n%q\nwant\n%q", got, want)
	}
}

// TestFileURLsAreKeptOnlyOnAPageReadFromAFile parses the same page read
// over http and from a file: URL (the static simple/ tree a wheelhouse
// holds, its links relative): file: files are kept from the file: page
// alone, http ones from both.
func TestFileURLsAreKeptOnlyOnAPageReadFromAFile(t *testing.T) {
	sum := "#sha256=" + strings.Repeat("a", 64)
	body := []byte(`<a href="demo-1.0.tar.gz` + sum + `">x</a><a href="file:///w/files/demo-1.1.tar.gz` + sum + `">x</a><a href="https://files.example/demo-1.2.tar.gz` + sum + `">x</a>`)
	for _, tc := range []struct {
		name, page string
		want       []string
	}{
		{"http page", "http://index.example/simple/demo/", []string{"http://index.example/simple/demo/demo-1.0.tar.gz", "https://files.example/demo-1.2.tar.gz"}},
		{"file page", "file:///w/simple/demo/", []string{"file:///w/simple/demo/demo-1.0.tar.gz", "file:///w/files/demo-1.1.tar.gz", "https://files.example/demo-1.2.tar.gz"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parsePage(tc.page, "text/html", body)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range p.Files {
				got = append(got, f.URL)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("files at\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

// sendZeros writes n zero bytes to w, counting in sent what w took,
// until the client stops reading.
func sendZeros(w io.Writer, n int64, sent *atomic.Int64) {
	chunk := make([]byte, 64<<10)
	for n > 0 {
		m, err := w.Write(chunk[:min(n, int64(len(chunk)))])
		sent.Add(int64(m))
		if err != nil {
			return
		}
		n -= int64(m)
	}
}
