package fetch

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/larder-build/larder/internal/netrc"
)

// TestAnIndexsCredentialsGoOnlyToItsOwnOrigin: the files of the index's
// origin are asked for with its credentials, and a redirect to the same
// host on another port (as to http:// from https://) carries none.
func TestAnIndexsCredentialsGoOnlyToItsOwnOrigin(t *testing.T) {
	var seen []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, "other:"+r.Header.Get("Authorization"))
	}))
	defer other.Close()
	index := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, "index:"+r.Header.Get("Authorization"))
		http.Redirect(w, r, other.URL+"/files/x.whl", http.StatusFound)
	}))
	defer index.Close()
	var o options
	if err := WithIndexCredentials(strings.Replace(index.URL, "http://", "http://ci:tok@", 1) + "/simple/")(&o); err != nil {
		t.Fatal(err)
	}
	getAuthorized(t, &o, o.authorizeRedirects(&http.Client{}), context.Background(), index.URL+"/files/x.whl")
	if len(seen) != 2 || seen[0] != "index:Basic Y2k6dG9r" || seen[1] != "other:" {
		t.Errorf("requests saw %q, want the index's credentials at the index only", seen)
	}
	if err := WithIndexCredentials("http://ci:tok@%zz/simple/")(&options{}); err == nil || strings.Contains(err.Error(), "tok") {
		t.Errorf("a bad index URL: %v, want an error without its password", err)
	}
}

// TestTwoIndexesOnOneHostGiveTheirFilesTheirOwnTokens: two indexes of
// one origin with different tokens. A file gets the token of the index
// its package was locked from, else of the index whose URL is the
// longest prefix of its own, else of the first index; a netrc's machine
// serves only an origin no index was given for.
func TestTwoIndexesOnOneHostGiveTheirFilesTheirOwnTokens(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _, _ := r.BasicAuth()
		mu.Lock()
		seen = append(seen, u)
		mu.Unlock()
	}))
	defer srv.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _, _ := r.BasicAuth()
		mu.Lock()
		seen = append(seen, "other:"+u)
		mu.Unlock()
	}))
	defer other.Close()
	with := func(user, path string) string {
		return strings.Replace(srv.URL, "http://", "http://"+user+":tok@", 1) + path
	}
	nrc := netrc.Parse("machine 127.0.0.1 login from-netrc password p\n")
	var o options
	for _, opt := range []Option{WithIndexCredentials(with("team-a", "/a/simple/"), with("team-b", "/b/simple")), WithNetrc(nrc)} {
		if err := opt(&o); err != nil {
			t.Fatal(err)
		}
	}
	c := o.authorizeRedirects(&http.Client{})
	for _, tt := range []struct {
		name, url, index, want string
	}{
		{"the recorded index first", srv.URL + "/b/files/x.whl", srv.URL + "/a/simple", "team-a"},
		{"the recorded index, spelt with a slash and a token", srv.URL + "/a/files/x.whl", with("x", "/b/simple/"), "team-b"},
		{"the longest prefix next", srv.URL + "/b/files/x.whl", "", "team-b"},
		{"the longest prefix of an unknown index", srv.URL + "/a/packages/x.whl", srv.URL + "/c/simple/", "team-a"},
		{"the first index of the origin last", srv.URL + "/elsewhere/x.whl", "", "team-a"},
		{"the netrc for another origin", other.URL + "/x.whl", srv.URL + "/a/simple/", "other:from-netrc"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			seen = nil
			mu.Unlock()
			getAuthorized(t, &o, c, withIndex(context.Background(), tt.index), tt.url)
			mu.Lock()
			defer mu.Unlock()
			if len(seen) != 1 || seen[0] != tt.want {
				t.Errorf("the server saw the users %q, want %q", seen, tt.want)
			}
		})
	}
}

// getAuthorized sends a GET of u as fetch does: with o's credentials,
// through a client that keeps them to their origin on redirects.
func getAuthorized(t *testing.T, o *options, c *http.Client, ctx context.Context, u string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	o.authorize(req)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}
