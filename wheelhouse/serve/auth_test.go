package serve

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/uploadtest"
)

// TestReadAuthLetsPipInWithTheCredentialsInItsURLOnly serves a baked
// wheelhouse with --read-auth: the real pip installs with the user and
// password in the index URL (it sends them as Basic auth), and fails
// without them or with a wrong password; every read but /-/healthz asks
// for credentials; the log never holds the password.
func TestReadAuthLetsPipInWithTheCredentialsInItsURLOnly(t *testing.T) {
	p := newPip(t, "python3")
	const pass = "s3cret-pw"
	users := uploadtest.Htpasswd(t, "alice:"+pass)
	own := pypitest.Start(t, bumpIndex(false))
	st := bake(t, own, t.TempDir(), filesOf(t, own, nil, "bumpy", "helper"), nil)
	var log testLog
	_, base := startServer(t, st, WithHtpasswd(users), WithReadAuth(true), WithOffline(true),
		WithAccessLog(true), WithLogger(log.logger()))
	host := strings.TrimPrefix(base, "http://")

	target, out, err := p.install(t, "http://alice:"+pass+"@"+host+"/simple/", "bumpy")
	if err != nil {
		t.Fatalf("pip install with credentials: %v\n%s", err, out)
	}
	if got := installed(t, target); !slices.Equal(got, []string{"bumpy==1.0", "helper==1.0"}) {
		t.Errorf("installed %v", got)
	}
	// pip reports a 401 on an index page as "no versions", without -v.
	for _, index := range []string{base + "/simple/", "http://alice:wr0ng-guess@" + host + "/simple/"} {
		target, out, err := p.install(t, index, "bumpy")
		if got := installed(t, target); err == nil || len(got) != 0 {
			t.Errorf("pip install from %s: %v, installed %v; want a failure\n%s", index, err, got, out)
		}
	}

	for _, c := range []struct {
		path   string
		status int
	}{
		{"/", http.StatusUnauthorized},
		{"/simple/", http.StatusUnauthorized},
		{"/simple/bumpy/", http.StatusUnauthorized},
		{"/files/helper-1.0-py3-none-any.whl", http.StatusUnauthorized},
		{"/files/helper-1.0-py3-none-any.whl.metadata", http.StatusUnauthorized},
		{"/metrics", http.StatusUnauthorized},
		{"/nothing-here", http.StatusUnauthorized}, // what exists is not told either
		{"/-/healthz", http.StatusOK},              // liveness probes
	} {
		resp, _ := get(t, base+c.path)
		if resp.StatusCode != c.status {
			t.Errorf("GET %s without credentials: %d, want %d", c.path, resp.StatusCode, c.status)
		}
		if c.status == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") != `Basic realm="larder", charset="UTF-8"` {
			t.Errorf("GET %s: WWW-Authenticate %q", c.path, resp.Header.Get("WWW-Authenticate"))
		}
	}
	if m := scrape(t, base, "alice", pass); m["larder_unauthorized_reads_total"] < 7 {
		t.Errorf("larder_unauthorized_reads_total = %v, want at least 7", m["larder_unauthorized_reads_total"])
	}
	if strings.Contains(log.String(), pass) || strings.Contains(log.String(), "wr0ng-guess") {
		t.Errorf("the log holds a password:\n%s", log.String())
	}
}

// BenchmarkBasicAuthCheck measures a credentials check of an htpasswd -B
// user: the first (bcrypt) and the ones after (the remembered match, what
// each of pip's requests costs under --read-auth).
func BenchmarkBasicAuthCheck(b *testing.B) {
	h, err := readHtpasswd(uploadtest.Htpasswd(b, "alice:pw"))
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/simple/", nil)
	req.SetBasicAuth("alice", "pw")
	b.Run("bcrypt", func(b *testing.B) {
		for b.Loop() {
			h.mu.Lock()
			clear(h.verified)
			h.mu.Unlock()
			if _, res := h.check(req); res != authOK {
				b.Fatal(res)
			}
		}
	})
	b.Run("remembered", func(b *testing.B) {
		for b.Loop() {
			if _, res := h.check(req); res != authOK {
				b.Fatal(res)
			}
		}
	})
}

// TestAnHtpasswdFileIsReadWithinItsBound: an htpasswd file larger than
// maxHtpasswdBytes is refused with its name once the bound is read, not
// read whole; a device that never ends is refused before a byte is read.
func TestAnHtpasswdFileIsReadWithinItsBound(t *testing.T) {
	big := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(big, bytes.Repeat([]byte("# a comment line\n"), maxHtpasswdBytes/16), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, want string }{
		{big, fmt.Sprintf("larger than %d bytes", maxHtpasswdBytes)},
		{"/dev/zero", "is a device, not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseHtpasswd(tc.name)
			if err == nil || !strings.Contains(err.Error(), tc.name) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("parseHtpasswd(%s): %v, want it refused: %s", tc.name, err, tc.want)
			}
		})
	}
}
