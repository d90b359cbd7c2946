package serve

import (
	"net/http"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/uploadtest"
	"github.com/larder-build/larder/wheelhouse"
)

// TestEveryUserIsHeldToTheUploadLimitHoweverManyTheFileLists: the
// uploads a minute are counted by user, and an htpasswd file may list
// more users than a limiter's fixed bound of keys (maxLimiterKeys,
// 10,000; lowered to 2 here with withLimiterKeys, as logging in 10,001
// users costs 10,001 bcrypts). Each of the file's 3 users uploads in one
// minute; the last is still held to uploadsPerMinute and answered 429
// past it: the upload limiter's bound is the file's users, not the
// fixed one, past which users uploaded without a limit.
func TestEveryUserIsHeldToTheUploadLimitHoweverManyTheFileLists(t *testing.T) {
	users := []string{"alice", "bob", "carol"}
	var entries []string
	for _, u := range users {
		entries = append(entries, u+":pw")
	}
	st, err := wheelhouse.Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, base := startServer(t, st, WithHtpasswd(uploadtest.Htpasswd(t, entries...)), WithOffline(true),
		withLimiterKeys(len(users)-1))
	// An upload with no form: counted against its user, then refused
	// with 400 before anything is read.
	upload := func(user string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/legacy/", strings.NewReader(""))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth(user, "pw")
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	for _, u := range users {
		if code, _ := upload(u); code != http.StatusBadRequest {
			t.Fatalf("%s's first upload: %d, want 400 (no form)", u, code)
		}
	}
	last := users[len(users)-1]
	for i := 2; i <= uploadsPerMinute+1; i++ {
		code, retry := upload(last)
		want := http.StatusBadRequest
		if i > uploadsPerMinute {
			want = http.StatusTooManyRequests
		}
		if code != want {
			t.Fatalf("%s's upload %d this minute, each of the file's %d users having uploaded: %d, want %d",
				last, i, len(users), code, want)
		}
		if code == http.StatusTooManyRequests && retry != "60" {
			t.Errorf("429 with Retry-After %q, want 60", retry)
		}
	}
}
