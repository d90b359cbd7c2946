package serve

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/larder-build/larder/internal/bytesize"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/uploadtest"
	"github.com/larder-build/larder/wheelhouse"
)

// pagesServer serves a baked store with a file of every origin, and a
// project uploaded to it after it started ("acme-tools", by alice).
func pagesServer(t *testing.T) (string, *wheelhouse.Store) {
	t.Helper()
	st := originStore(t, pypitest.Project{Name: "Alpha_Tools", Releases: []pypitest.Release{release("1.0"), release("1.1")}})
	_, base := startServer(t, st, WithOffline(true), WithHtpasswd(uploadtest.Htpasswd(t, "alice:pw-a")))
	mustUpload(t, base, projectWheel(t, "acme-tools", "0.1", 0), "alice", "pw-a")
	return base, st
}

// voidElements have no end tag in HTML5.
var voidElements = map[string]bool{"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true,
	"img": true, "input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true}

// checkWellFormed reports the first tag of page not closed in order, and
// returns the page's hrefs.
func checkWellFormed(t *testing.T, name string, page []byte) []string {
	t.Helper()
	if !bytes.HasPrefix(page, []byte("<!DOCTYPE html>")) {
		t.Errorf("%s: no HTML5 doctype", name)
	}
	var open, hrefs []string
	z := html.NewTokenizer(bytes.NewReader(page))
	for range 100000 {
		switch z.Next() {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				t.Errorf("%s: %v", name, z.Err())
			}
			if len(open) > 0 {
				t.Errorf("%s: unclosed at the end: %v", name, open)
			}
			return hrefs
		case html.StartTagToken:
			tok := z.Token()
			for _, a := range tok.Attr {
				if a.Key == "href" {
					hrefs = append(hrefs, a.Val)
				}
			}
			if !voidElements[tok.Data] {
				open = append(open, tok.Data)
			}
		case html.SelfClosingTagToken:
			if tok := z.Token(); !voidElements[tok.Data] {
				t.Errorf("%s: <%s/> is not a void element", name, tok.Data)
			}
		case html.EndTagToken:
			tok := z.Token()
			if len(open) == 0 || open[len(open)-1] != tok.Data {
				t.Errorf("%s: </%s> closes %v", name, tok.Data, open)
				return hrefs
			}
			open = open[:len(open)-1]
		}
	}
	t.Errorf("%s: more than 100000 tokens", name)
	return hrefs
}

func TestPagesAreWellFormedAndEveryLinkResolves(t *testing.T) {
	base, _ := pagesServer(t)
	// Crawl the pages for people from "/"; every link on them must answer
	// 200, and every page of ours must close what it opens.
	queue, seen, pages := []string{base + "/", base + "/?q=a%22%3E%3Cb%3E"}, map[string]bool{}, 0
	for len(queue) > 0 && len(seen) < 200 {
		u := queue[0]
		queue = queue[1:]
		if seen[u] {
			continue
		}
		seen[u] = true
		resp, body := get(t, u)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", u, resp.StatusCode)
			continue
		}
		path := strings.TrimPrefix(u, base)
		if path != "/" && !strings.HasPrefix(path, "/?") && !strings.HasPrefix(path, "/project/") {
			continue
		}
		pages++
		for _, href := range checkWellFormed(t, path, body) {
			ref, err := url.Parse(href)
			if err != nil {
				t.Errorf("%s: bad href %q", path, href)
				continue
			}
			pu, _ := url.Parse(u)
			queue = append(queue, pu.ResolveReference(ref).String())
		}
	}
	// "/", the filtered "/", five project pages.
	if pages != 7 {
		t.Errorf("crawled %d pages of ours, want 7: %v", pages, seen)
	}
}

func TestOverviewShowsEveryProjectWithWhereItCameFrom(t *testing.T) {
	base, _ := pagesServer(t)
	_, body := get(t, base+"/")
	page := string(body)
	for _, c := range []struct{ project, row string }{
		{"alpha-tools", `<a href="project/alpha-tools/">alpha-tools</a></td><td>1.1</td><td>2</td><td class="num">2</td><td>baked</td>`},
		{"forked", `<a href="project/forked/">forked</a> <span class="private">private</span></td><td>2.0</td><td>1</td><td class="num">1</td><td>built from a fork</td>`},
		{"built", `<a href="project/built/">built</a></td><td>3.0</td><td>1</td><td class="num">1</td><td>built from an sdist</td>`},
		{"uploaded after start", `<a href="project/acme-tools/">acme-tools</a> <span class="private">private</span></td><td>0.1</td><td>1</td><td class="num">1</td><td>uploaded</td>`},
	} {
		if !strings.Contains(page, c.row) {
			t.Errorf("%s: no row %s in:\n%s", c.project, c.row, page)
		}
	}
	if !strings.Contains(page, "5 projects, 6 files") || !strings.Contains(page, "pip install --index-url http://"+strings.TrimPrefix(base, "http://")+"/simple/ PACKAGE") {
		t.Errorf("no totals or pip line:\n%s", page)
	}
}

func TestOverviewFilterShowsOnlyMatchingProjects(t *testing.T) {
	base, _ := pagesServer(t)
	all := []string{"acme-tools", "alpha-tools", "built", "forked", "plain"}
	for _, c := range []struct {
		q    string
		want []string
	}{
		{"", all},
		{"alpha", []string{"alpha-tools"}},
		{"Alpha_Tools", []string{"alpha-tools"}}, // compared normalized
		{"TOOLS", []string{"acme-tools", "alpha-tools"}},
		{"nothing-like-it", nil},
		{`"><script>alert(1)</script>`, nil},
	} {
		_, body := get(t, base+"/?q="+url.QueryEscape(c.q))
		checkWellFormed(t, "/?q="+c.q, body)
		var got []string
		for _, p := range all {
			if bytes.Contains(body, []byte(`href="project/`+p+`/"`)) {
				got = append(got, p)
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("q=%q: projects %v, want %v", c.q, got, c.want)
		}
		if bytes.Contains(body, []byte("<script")) {
			t.Errorf("q=%q: the query is written unescaped", c.q)
		}
		if c.q != "" && !bytes.Contains(body, []byte(`value="`+html.EscapeString(c.q)+`"`)) {
			t.Errorf("q=%q: the form does not keep the query", c.q)
		}
	}
}

func TestProjectPageShowsEachFileWithItsProvenance(t *testing.T) {
	base, st := pagesServer(t)
	for _, c := range []struct {
		project string
		want    []string
		auth    string // who uploaded a file is shown to logged-in users only
	}{
		{"acme-tools", []string{"uploaded by alice", `href="../../files/acme_tools-0.1-py3-none-any.whl"`, "<h2 id=\"v-0.1\">0.1</h2>", "private"}, basicAuth("alice", "pw-a")},
		{"forked", []string{"built from https://git.example/forked.git @0123456789ab", "private"}, ""},
		{"built", []string{"built from the sdist built-3.0.tar.gz"}, ""},
		{"alpha-tools", []string{"<h2 id=\"v-1.1\">1.1</h2>", "<h2 id=\"v-1.0\">1.0</h2>", "baked"}, ""},
	} {
		resp, body := get(t, base+"/project/"+c.project+"/", c.auth)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", c.project, resp.StatusCode)
		}
		for _, w := range c.want {
			if !bytes.Contains(body, []byte(w)) {
				t.Errorf("%s: page lacks %q:\n%s", c.project, w, body)
			}
		}
	}
	// Every stored file's size and hash are on its project's page.
	for _, e := range st.Entries() {
		_, body := get(t, base+"/project/"+e.Project+"/")
		if !bytes.Contains(body, []byte("<code>"+e.SHA256+"</code>")) || !bytes.Contains(body, []byte(bytesize.Format(e.Size))) {
			t.Errorf("%s: no sha256 or size on the project page", e.Filename)
		}
	}
	// The newest version comes first.
	_, body := get(t, base+"/project/alpha-tools/")
	if bytes.Index(body, []byte(`id="v-1.1"`)) > bytes.Index(body, []byte(`id="v-1.0"`)) {
		t.Errorf("alpha-tools: 1.0 listed before 1.1")
	}
	for _, c := range []struct {
		path     string
		status   int
		location string
	}{
		{"/project/Alpha_Tools/", http.StatusMovedPermanently, "/project/alpha-tools/"},
		{"/project/alpha-tools", http.StatusMovedPermanently, "/project/alpha-tools/"},
		{"/project/nobody/", http.StatusNotFound, ""},
		{"/project/..%2f/", http.StatusBadRequest, ""},
	} {
		if resp, _ := get(t, base+c.path); resp.StatusCode != c.status || resp.Header.Get("Location") != c.location {
			t.Errorf("%s: status %d to %q, want %d to %q", c.path, resp.StatusCode, resp.Header.Get("Location"), c.status, c.location)
		}
	}
}

func TestOverviewShowsTheUpstreamsHealth(t *testing.T) {
	st, srv := smallStore(t)
	for _, c := range []struct {
		name string
		opts []Option
		want []string
	}{
		{"offline", []Option{WithOffline(true), WithUpstream(srv.URL())}, []string{"Upstream: none: this server is offline"}},
		{"answering", []Option{WithUpstream(srv.URL())}, []string{"Upstream: " + srv.URL(), ": ok (the circuit breaker is closed); last answered 20"}},
		{"refusing", []Option{WithUpstream("http://" + refusingAddr(t) + "/simple/"), withBackoff(time.Hour, time.Hour)},
			[]string{": unreachable (the circuit breaker is open; tried again in ", "; last error: "}},
	} {
		_, base := startServer(t, st, c.opts...)
		// A project page asks the upstream, unless offline.
		get(t, base+"/simple/alpha-tools/", pipAccept)
		_, body := get(t, base+"/")
		for _, w := range c.want {
			if !bytes.Contains(body, []byte(html.EscapeString(w))) {
				t.Errorf("%s: / lacks %q:\n%s", c.name, w, body)
			}
		}
	}
}

func TestAnUpstreamWithAPasswordIsRefusedWithoutShowingIt(t *testing.T) {
	for _, u := range []string{"http://ci:s3cr3t-token@example.org/simple/", "ftp://ci:s3cr3t-token@example.org/simple/", "http://ci:s3cr3t-token@[::1/simple/"} {
		err := WithUpstream(u)(&options{})
		if err == nil || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("upstream %s: error %v, want one without its password", u, err)
		}
		if _, err := allowedOrigins(u, nil); err == nil || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("upstream %s: origins error %v, want one without its password", u, err)
		}
	}
}
