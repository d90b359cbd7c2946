package serve

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/uploadtest"
	"github.com/larder-build/larder/wheelhouse"
)

// basicAuth is the Authorization header of user's Basic credentials, for
// get.
func basicAuth(user, pass string) string {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// TestWhoUploadedAFileIsShownOnlyToLoggedInUsers: alice uploads a
// project; its page for people names her to a logged-in user (alice, or
// bob), as a page for that client's cache only, and to nobody else: not
// to an anonymous reader, nor to one with a wrong password, who are
// told to add ?login to the page's address, which asks for credentials;
// and no other page (the overview, the simple pages in HTML and JSON)
// names her to anyone. A server that takes no logins never names an
// uploader, even of a file its wheelhouse says was uploaded.
func TestWhoUploadedAFileIsShownOnlyToLoggedInUsers(t *testing.T) {
	st, err := wheelhouse.Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, base := startServer(t, st, WithOffline(true), WithHtpasswd(uploadtest.Htpasswd(t, "alice:pw-a", "bob:pw-b")))
	mustUpload(t, base, projectWheel(t, "acme-tools", "0.1", 0), "alice", "pw-a")
	const named, login = "uploaded by alice", "add <code>?login</code> to this page's address"
	for _, c := range []struct {
		name, path, auth string
		status           int
		shown            bool   // the page names alice
		cache            string // the page's Cache-Control
	}{
		{"anonymous", "/project/acme-tools/", "", http.StatusOK, false, "no-cache"},
		{"a wrong password", "/project/acme-tools/", basicAuth("alice", "wr0ng"), http.StatusOK, false, "no-cache"},
		{"an unknown user", "/project/acme-tools/", basicAuth("mallory", "pw-a"), http.StatusOK, false, "no-cache"},
		{"the uploader", "/project/acme-tools/", basicAuth("alice", "pw-a"), http.StatusOK, true, "private, no-cache"},
		{"another user", "/project/acme-tools/", basicAuth("bob", "pw-b"), http.StatusOK, true, "private, no-cache"},
		{"anonymous asking to log in", "/project/acme-tools/?login", "", http.StatusUnauthorized, false, ""},
		{"a user logging in", "/project/acme-tools/?login", basicAuth("bob", "pw-b"), http.StatusOK, true, "private, no-cache"},
		{"the overview, anonymous", "/", "", http.StatusOK, false, "no-cache"},
		{"the overview, logged in", "/", basicAuth("alice", "pw-a"), http.StatusOK, false, "no-cache"},
		{"the simple page", "/simple/acme-tools/", "", http.StatusOK, false, "max-age=0, must-revalidate"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, accept := range []string{"", pipAccept} {
				resp, body := get(t, base+c.path, c.auth, accept)
				if resp.StatusCode != c.status {
					t.Fatalf("%d, want %d", resp.StatusCode, c.status)
				}
				if got := bytes.Contains(body, []byte("alice")); got != c.shown {
					t.Errorf("Accept %q: names alice: %v, want %v:\n%s", accept, got, c.shown, body)
				}
				if c.shown && !bytes.Contains(body, []byte(named)) {
					t.Errorf("no %q:\n%s", named, body)
				}
				if got := resp.Header.Get("Cache-Control"); c.status == http.StatusOK && got != c.cache {
					t.Errorf("Cache-Control %q, want %q", got, c.cache)
				}
				if c.status == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
					t.Error("401 without a WWW-Authenticate challenge: a browser would not ask for credentials")
				}
				isProject := c.path == "/project/acme-tools/"
				if got := bytes.Contains(body, []byte(login)); got != (isProject && c.status == http.StatusOK && !c.shown) {
					t.Errorf("offers to log in: %v; want it on the project page to readers not logged in only", got)
				}
				if isProject && resp.Header.Get("Vary") != "Authorization" {
					t.Errorf("Vary %q, want Authorization: the page depends on the credentials", resp.Header.Get("Vary"))
				}
			}
		})
	}

	// A wheelhouse whose entry says alice uploaded it, under a server
	// that takes no logins.
	srv := pypitest.Start(t, &pypitest.Index{Projects: []pypitest.Project{{Name: "acme-tools", Releases: []pypitest.Release{release("0.1")}}}})
	st2 := bake(t, srv, t.TempDir(), filesOf(t, srv, nil, "acme-tools"), func(e *wheelhouse.Entry) {
		e.Origin = wheelhouse.Origin{Kind: wheelhouse.OriginUpload, Uploader: "alice"}
		e.Private = true
	})
	_, base2 := startServer(t, st2, WithOffline(true))
	for _, auth := range []string{"", basicAuth("alice", "pw-a")} {
		resp, body := get(t, base2+"/project/acme-tools/", auth)
		if resp.StatusCode != http.StatusOK || bytes.Contains(body, []byte("alice")) || !bytes.Contains(body, []byte("<td>uploaded</td>")) {
			t.Errorf("a server without logins, credentials %q: %d, want 200 and the file said uploaded by nobody named:\n%s", auth, resp.StatusCode, body)
		}
		if bytes.Contains(body, []byte(login)) {
			t.Errorf("a server without logins offers to log in:\n%s", body)
		}
	}
}
