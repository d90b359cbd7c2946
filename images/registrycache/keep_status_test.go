package registrycache_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/dockerregistry"
)

// limitedRegistry is a real registry behind a proxy that reads each blob
// upload's body, as a reverse proxy with a body size limit does (nginx's
// client_max_body_size), and answers status with body instead of passing
// on one longer than limit.
func limitedRegistry(t *testing.T, reg *dockerregistry.Registry, limit int64, status int, body string) string {
	t.Helper()
	target, _ := url.Parse("http://" + reg.Host)
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodPatch || r.Method == http.MethodPut) && strings.Contains(r.URL.Path, "/blobs/uploads/") {
			b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			if int64(len(b)) > limit {
				w.WriteHeader(status)
				io.WriteString(w, body)
				return
			}
			r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), r.Body))
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestAnUploadTheSharedCacheCannotKeepIsAnsweredByWhoseFailureItIs: an
// upload the registry refuses as too large is the client's to fix (413,
// naming the file, not "try again"); a registry that fails is the
// server's (a 5xx naming the file). Either way nothing is stored.
func TestAnUploadTheSharedCacheCannotKeepIsAnsweredByWhoseFailureItIs(t *testing.T) {
	for _, tc := range []struct {
		name       string
		status     int
		body       string
		wantStatus int
		wantSays   string
	}{
		{"a registry refusing a blob as too large", http.StatusRequestEntityTooLarge,
			"<html><center><h1>413 Request Entity Too Large</h1></center></html>", http.StatusRequestEntityTooLarge, "too large"},
		{"a registry failing", http.StatusInternalServerError,
			`{"errors":[{"code":"UNKNOWN","message":"unknown error"}]}`, http.StatusServiceUnavailable, "try again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := startRegistry(t)
			w, _, _ := uploadedWheel(t, "acme-tools", "1.0", 64<<10)
			host := limitedRegistry(t, reg, 32<<10, tc.status, tc.body)
			legacy, simple := uploadReplica(t, openCacheAt(t, host))
			code, err := postUpload(t, legacy, w)
			if code != tc.wantStatus {
				t.Fatalf("the upload: %d (%v), want %d", code, err, tc.wantStatus)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.wantSays) || strings.Count(msg, w.Filename) < 2 {
				t.Errorf("the answer does not name %s and say %q: %s", w.Filename, tc.wantSays, msg)
			}
			if code, body := getPage(t, simple+"acme-tools/"); code == http.StatusOK && strings.Contains(body, w.Filename) {
				t.Errorf("the refused upload is listed: %s", body)
			}
			if kept, err := openCache(t, reg).Served().Kept(t.Context(), "acme-tools"); err != nil || kept {
				t.Errorf("Kept: %v, %v; want nothing kept", kept, err)
			}
		})
	}
}
