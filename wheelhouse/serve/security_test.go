package serve

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/wheelhouse"
)

const secret = "TOPSECRET"

// trapStore is a store surrounded by files no request may read: one next
// to the wheelhouse, one in files/ that the manifest does not list, a
// hidden one, and the manifest itself.
func trapStore(t testing.TB) (*wheelhouse.Store, map[string]bool) {
	t.Helper()
	root := t.TempDir()
	srv := pypitest.NewServer(smallIndex())
	defer srv.Close()
	st := bake(t, srv, filepath.Join(root, "wh"), filesOf(t, srv, nil, "alpha-tools", "beta"), nil)
	for _, p := range []string{
		filepath.Join(root, "secret.txt"),
		filepath.Join(root, "wh", "files", "unlisted-1.0-py3-none-any.whl"),
		filepath.Join(root, "wh", "files", "unlisted-1.0-py3-none-any.whl.metadata"),
		filepath.Join(root, "wh", "files", ".hidden-1.0.tar.gz"),
		filepath.Join(root, "wh", "secret-1.0.tar.gz"),
	} {
		if err := os.WriteFile(p, []byte(secret+" "+p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The manifest names every file: it must not be served either.
	m, err := os.ReadFile(filepath.Join(root, "wh", wheelhouse.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "wh", wheelhouse.ManifestName), append(m[:len(m)-2], []byte(`, "x": "`+secret+`"}`+"\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, e := range st.Entries() {
		known[`"`+e.SHA256+`"`] = true
		if e.MetadataSHA256 != "" {
			known[`"`+e.MetadataSHA256+`"`] = true
		}
	}
	return st, known
}

// traversalCorpus are request targets that try to leave the wheelhouse or
// name a file the manifest does not list.
func traversalCorpus() []string {
	return []string{
		"/files/../secret.txt", "/files/../../secret.txt", "/files/..%2fsecret.txt", "/files/..%2F..%2Fsecret.txt",
		"/files/%2e%2e/secret.txt", "/files/%2e%2e%2fsecret.txt", "/files/%2E%2E%2F%2E%2E%2Fsecret.txt",
		"/files/..\\secret.txt", "/files/..%5csecret.txt", "/files/%5c..%5c..%5csecret.txt",
		"/files/%252e%252e%252fsecret.txt", "/files/%c0%ae%c0%ae/secret.txt", "/files/%c0%ae%c0%ae%c0%afsecret.txt",
		"/files/unlisted-1.0-py3-none-any.whl", "/files/unlisted-1.0-py3-none-any.whl.metadata",
		"/files/.hidden-1.0.tar.gz", "/files/../secret-1.0.tar.gz", "/files/..%2fsecret-1.0.tar.gz",
		"/files/manifest.json", "/files/../manifest.json", "/files/..%2fmanifest.json", "/manifest.json",
		"/files/", "/files", "/files//secret.txt", "//secret.txt", "///../secret.txt", "/files/./beta-2.0-py3-none-any.whl",
		"/simple/../files/../../secret.txt", "/simple/..%2f..%2fsecret.txt/", "/simple/%2e%2e/", "/simple/..%00/",
		"/simple/beta/../../../secret.txt", "/simple/beta/%2e%2e/%2e%2e/secret.txt",
		"/files/beta-2.0-py3-none-any.whl%00.metadata", "/files/%00", "/files/beta-2.0-py3-none-any.whl%00",
		"/files/beta-2.0-py3-none-any.whl/../../secret.txt", "/files/beta-2.0-py3-none-any.whl%2f..%2f..%2fsecret.txt",
		"/files/" + strings.Repeat("a", 300) + ".whl", "/" + strings.Repeat("a/", 700), "/files/%ff%fe.whl",
		"/-/../secret.txt", "/-/healthz/../../secret.txt", "/files/../../../../../../../../etc/passwd",
		"http://evil.example/files/../secret.txt", "http://evil.example/files/..%2fsecret.txt",
		"/files/C:%5csecret.txt", "/files/%2fetc%2fpasswd", "/files/a.whl?x=../../secret.txt",
		"/files/%", "/files/%zz", "/files/%2", "*", "secret.txt", "../secret.txt",
	}
}

func TestTraversalAndMalformedRequestsAreRefused(t *testing.T) {
	st, _ := trapStore(t)
	_, base := startServer(t, st, WithOffline(true))
	addr := strings.TrimPrefix(base, "http://")
	send := func(raw string) (int, string) {
		t.Helper()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(conn, raw); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			return 0, "" // the server hung up: refused
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	var requests []string
	for _, target := range traversalCorpus() {
		for _, method := range []string{"GET", "HEAD"} {
			requests = append(requests, method+" "+target+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		}
	}
	requests = append(requests,
		"GET /files/\x01.whl HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /files/a b.whl HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /files/beta-2.0-py3-none-any.whl HTTP/1.1\r\n\r\n", // no Host
		"PUT /files/beta-2.0-py3-none-any.whl HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nTOPSECRET",
		"DELETE /files/beta-2.0-py3-none-any.whl HTTP/1.1\r\nHost: x\r\n\r\n",
		"TRACE / HTTP/1.1\r\nHost: x\r\n\r\n",
		"CONNECT /files/../secret.txt HTTP/1.1\r\nHost: x\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /files/../secret.txt HTTP/1.0\r\n\r\n",
		"GET /simple/beta/ HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 200<<10)+"\r\n\r\n",
		"GET /files/beta-2.0-py3-none-any.whl HTTP/9.9\r\nHost: x\r\n\r\n",
		"GET\r\n\r\n",
	)
	for _, raw := range requests {
		code, body := send(raw)
		line, _, _ := strings.Cut(raw, "\r\n")
		if len(line) > 120 {
			line = line[:120] + "..."
		}
		if code != 0 && code < 400 {
			t.Errorf("%q: status %d, want a refusal", line, code)
		}
		if strings.Contains(body, secret) {
			t.Errorf("%q: the answer reveals a file outside the store: %.100s", line, body)
		}
	}
	// The same server still serves what it should.
	if resp, _ := get(t, base+"/files/beta-2.0-py3-none-any.whl"); resp.StatusCode != 200 {
		t.Errorf("a listed file: %d", resp.StatusCode)
	}
	if code, _ := send("GET /simple/beta/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); code != 200 {
		t.Errorf("a page: %d", code)
	}
}

func TestSplitPathRefusesAmbiguousSegments(t *testing.T) {
	tests := []struct {
		path string
		want pathError
	}{
		{"/", pathOK},
		{"/simple/", pathOK},
		{"/files/a-1.0.tar.gz", pathOK},
		{"/files/a%2B1-1.0.tar.gz", pathOK},
		{"", pathMalformed},
		{"files/x", pathMalformed},
		{"/files/../x", pathMalformed},
		{"/files/./x", pathMalformed},
		{"/files/%2e%2e", pathMalformed},
		{"/files/a%2fb", pathMalformed},
		{"/files/a%5cb", pathMalformed},
		{"/files/a%00b", pathMalformed},
		{"/files/a%0ab", pathMalformed},
		{"/files/a%7fb", pathMalformed},
		{"/files/%c0%ae", pathMalformed},
		{"/files//x", pathMalformed},
		{"//", pathMalformed},
		{"/files/%zz", pathMalformed},
		{"/files/" + strings.Repeat("a", 256), pathTooLong},
		{"/files/" + strings.Repeat("a", 255), pathOK},
		{"/files/" + strings.Repeat("a", 255) + ".metadata", pathOK}, // a 255-byte wheel's sidecar
		{"/files/" + strings.Repeat("a", 256) + ".metadata", pathTooLong},
		{"/" + strings.Repeat("a/", 600), pathTooLong},
	}
	for _, tt := range tests {
		if _, got := splitPath(tt.path); got != tt.want {
			t.Errorf("splitPath(%q) = %d, want %d", tt.path, got, tt.want)
		}
	}
}

// FuzzServePath sends arbitrary request targets and methods to a server
// over a store surrounded by secrets: no answer may reveal one, nothing may
// panic, and a file is served only under a name the manifest lists.
func FuzzServePath(f *testing.F) {
	for _, p := range traversalCorpus() {
		f.Add("GET", p)
	}
	for _, p := range []string{"/", "/simple/", "/simple/beta/", "/simple/Alpha_Tools", "/-/healthz",
		"/files/beta-2.0-py3-none-any.whl", "/files/beta-2.0-py3-none-any.whl.metadata", "/files/alpha_tools-1.0.tar.gz"} {
		f.Add("GET", p)
		f.Add("HEAD", p)
	}
	st, known := trapStore(f)
	s, err := New(st, WithOffline(true))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, target string) {
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(method + " " + target + " HTTP/1.1\r\nHost: x\r\n\r\n")))
		if err != nil {
			return // the server's own parser refuses it before any handler runs
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		body := rec.Body.String()
		if strings.Contains(body, secret) {
			t.Fatalf("%s %q revealed a secret: %.200s", method, target, body)
		}
		if rec.Code < 300 && strings.HasPrefix(req.URL.Path, "/files/") && !known[rec.Header().Get("ETag")] {
			t.Fatalf("%s %q: %d with ETag %q, which is no listed file", method, target, rec.Code, rec.Header().Get("ETag"))
		}
	})
}
