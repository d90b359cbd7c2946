package cmd

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/larder-build/larder/cmd/larder/config"
	"github.com/larder-build/larder/internal/wheelhousetest"
)

// TestServeRefusesUploadSettingsThatCannotWork runs larder serve with
// upload flags that cannot work: each fails before listening, naming the
// flag or the file and line.
func TestServeRefusesUploadSettingsThatCannotWork(t *testing.T) {
	dir := emptyProject(t)
	writeFiles(t, dir, map[string]string{
		// htpasswd -m (Apache MD5) and a comment line: line 2 is refused.
		"md5.htpasswd": "# users\nalice:$apr1$0nbQ2Cxk$0VHKb0FQ9wZbn5rZ0C5vS1\n",
		// A usable file.
		"good.htpasswd":  aliceHtpasswd,
		"empty.htpasswd": "",
	})
	md5File := filepath.Join(dir, "md5.htpasswd")
	goodFile := filepath.Join(dir, "good.htpasswd")
	emptyFile := filepath.Join(dir, "empty.htpasswd")
	cases := []struct {
		name      string
		args      []string
		uploaders map[string][]string // [index.uploaders] of larder.toml
		usage     bool                // a usage error
		want      string              // in the error
		hint      string              // in the hint, when not a usage error
	}{
		{"read-auth without htpasswd", []string{"--read-auth"}, nil, true, "--read-auth needs --htpasswd", ""},
		{"no room for an upload", []string{"--max-upload", "0"}, nil, true, "--max-upload 0", ""},
		{"md5 entries", []string{"--htpasswd", md5File}, nil, false, md5File + ":2: user \"alice\": not a bcrypt hash", "htpasswd -B"},
		{"no users", []string{"--htpasswd", emptyFile}, nil, false, "lists no users", "htpasswd -B"},
		{"missing file", []string{"--htpasswd", filepath.Join(dir, "nope")}, nil, false, "nope", "htpasswd -B"},
		{"uploader not in the file", []string{"--htpasswd", goodFile}, map[string][]string{"acme-*": {"bob"}}, false, `uploaders "acme-*": user "bob" is not in ` + goodFile, ""},
		{"a proxy range of everyone", []string{"--htpasswd", goodFile, "--trusted-proxy", "0.0.0.0/0"}, nil, true, `trusted proxy "0.0.0.0/0": would believe every client's X-Forwarded-For`, ""},
		{"a proxy named by host name", []string{"--htpasswd", goodFile, "--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "proxy.internal"}, nil, true, `trusted proxy "proxy.internal": want a CIDR range`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Dir = dir
			cfg.Index.Uploaders = c.uploaders
			cmd := newServeCmd(&globals{cfg: cfg})
			cmd.SetArgs(append([]string{"--addr", "127.0.0.1:0", "--offline", "--cache-dir", t.TempDir()}, c.args...))
			cmd.SetOut(&wheelhousetest.Buffer{})
			cmd.SetErr(&wheelhousetest.Buffer{})
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // a server that started anyway stops at once
			err := cmd.ExecuteContext(ctx)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
			var u usageError
			if got := errors.As(err, &u); got != c.usage {
				t.Errorf("usage error: %v, want %v (%v)", got, c.usage, err)
			}
			var h hintError
			if c.hint != "" && (!errors.As(err, &h) || !strings.Contains(h.hint, c.hint)) {
				t.Errorf("hint of %v: %+v, want one containing %q", err, h, c.hint)
			}
		})
	}
}

// aliceHtpasswd is a real bcrypt entry, alice's with the password pw
// (made by htpasswd -nbB alice pw).
const aliceHtpasswd = "alice:$2y$05$vC/SnMz55CTpoxEkO.yRz.V.p7cJ8aA6S5oMNtDgo2CSjV0cTDQDy\n"

// projectWithAlice is an empty project whose file users lists alice
// (aliceHtpasswd): its configuration and the file's path.
func projectWithAlice(t *testing.T) (*config.Config, string) {
	t.Helper()
	dir := emptyProject(t)
	users := filepath.Join(dir, "users")
	if err := os.WriteFile(users, []byte(aliceHtpasswd), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Dir = dir
	return cfg, users
}

// TestServeBehindATrustedProxyThrottlesOnlyTheClientThatFailed runs
// larder serve --read-auth behind --trusted-proxy 127.0.0.1: a client
// the proxy forwards for that fails every login a minute allows is
// answered 429, and another client of the same proxy still logs in.
func TestServeBehindATrustedProxyThrottlesOnlyTheClientThatFailed(t *testing.T) {
	cfg, users := projectWithAlice(t)
	s := startServe(t, cfg, "--offline", "--htpasswd", users, "--read-auth", "--trusted-proxy", "127.0.0.1")
	index := s.waitFor(t, regexp.MustCompile(`on (http://127\.0\.0\.1:\d+/simple/)`), "index URL")
	login := func(client, pass string) int {
		req, err := http.NewRequest(http.MethodGet, index, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth("alice", pass)
		req.Header.Set("X-Forwarded-For", client)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	last := 0
	for range 25 { // past the 20 failed logins a minute allows
		last = login("203.0.113.7", "wr0ng")
	}
	if last != http.StatusTooManyRequests {
		t.Errorf("the 25th wrong login from 203.0.113.7: %d, want 429", last)
	}
	if got := login("198.51.100.9", "pw"); got != http.StatusOK {
		t.Errorf("the right password from another client of the proxy: %d, want 200", got)
	}
}

// TestServeWithHtpasswdSaysWhereToUpload starts larder serve with an
// htpasswd file: it prints the upload URL, which asks for credentials.
func TestServeWithHtpasswdSaysWhereToUpload(t *testing.T) {
	cfg, users := projectWithAlice(t)
	s := startServe(t, cfg, "--offline", "--htpasswd", users)
	url := s.waitFor(t, regexp.MustCompile(`uploads: (http://127\.0\.0\.1:\d+/legacy/) \(users of `+regexp.QuoteMeta(users)+`\)`), "upload URL")
	resp, err := http.Post(url, "multipart/form-data; boundary=x", strings.NewReader("--x--\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), `Basic realm="larder"`) {
		t.Errorf("POST %s without credentials: %s, WWW-Authenticate %q", url, resp.Status, resp.Header.Get("WWW-Authenticate"))
	}
}
