package fetch

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
	c := o.authorizeRedirects(&http.Client{})
	req, err := http.NewRequest(http.MethodGet, index.URL+"/files/x.whl", nil)
	if err != nil {
		t.Fatal(err)
	}
	o.authorize(req)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(seen) != 2 || seen[0] != "index:Basic Y2k6dG9r" || seen[1] != "other:" {
		t.Errorf("requests saw %q, want the index's credentials at the index only", seen)
	}
	if err := WithIndexCredentials("http://ci:tok@%zz/simple/")(&options{}); err == nil || strings.Contains(err.Error(), "tok") {
		t.Errorf("a bad index URL: %v, want an error without its password", err)
	}
}
