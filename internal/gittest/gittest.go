// Package gittest makes git repositories for tests: real repositories on
// disk, reached through file:// URLs, independent of the user's git
// configuration, or served over HTTP by git http-backend (Serve).
package gittest

import (
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Repo is a repository in a test's temporary folder.
type Repo struct {
	t   testing.TB
	Dir string
}

// New makes an empty repository on branch main, skipping the test when
// git is not installed.
func New(t testing.TB) *Repo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	r := &Repo{t: t, Dir: t.TempDir()}
	r.Git("init", "-q", "-b", "main")
	return r
}

// URL returns the repository's file:// URL.
func (r *Repo) URL() string { return "file://" + r.Dir }

// Git runs git in the repository and returns its trimmed output; a failure
// fails the test.
func (r *Repo) Git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=larder", "-c", "user.email=larder@example.invalid",
		"-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}, args...)...)
	cmd.Dir = r.Dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// Commit writes files (paths relative to the repository) and commits
// everything, returning the new commit id.
func (r *Repo) Commit(files map[string]string, message string) string {
	r.t.Helper()
	for name, body := range files {
		p := filepath.Join(r.Dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	r.Git("add", "-A")
	r.Git("commit", "-q", "-m", message)
	return r.Git("rev-parse", "HEAD")
}

// Server serves repositories over git's smart HTTP protocol (git
// http-backend behind net/http/cgi), each behind HTTP basic auth when
// a user is given, and records every request's user.
type Server struct {
	URL string // http://127.0.0.1:PORT

	mu    sync.Mutex
	users []string // the user of every request, "" without Authorization
}

// Users returns the user of every request so far, in order, "" for a
// request that carried no credentials.
func (s *Server) Users() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.users...)
}

// Serve serves r at s.URL+"/"+name (name like "org/fork.git"),
// answering 401 to any request without user and password (when user is
// not ""). The server is closed when the test ends.
func (r *Repo) Serve(name, user, password string) *Server {
	r.t.Helper()
	exe, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		r.t.Skipf("git --exec-path: %v", err)
	}
	backend := filepath.Join(strings.TrimSpace(string(exe)), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		r.t.Skipf("git http-backend is not installed: %v", err)
	}
	root := r.t.TempDir()
	link := filepath.Join(root, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(r.Dir, ".git"), link); err != nil {
		r.t.Fatal(err)
	}
	s := &Server{}
	cgiHandler := &cgi.Handler{Path: backend, Env: []string{
		"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1",
		"GIT_CONFIG_GLOBAL=" + os.DevNull, "GIT_CONFIG_NOSYSTEM=1",
		// Serving unadvertised commits, as GitHub does, lets a shallow
		// fetch of one commit work.
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=uploadpack.allowAnySHA1InWant", "GIT_CONFIG_VALUE_0=true",
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		u, p, ok := req.BasicAuth()
		s.mu.Lock()
		s.users = append(s.users, u)
		s.mu.Unlock()
		if user != "" && (!ok || u != user || p != password) {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		cgiHandler.ServeHTTP(w, req)
	}))
	r.t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// RecordArgs puts a git first on PATH, for the rest of the test, that
// appends its command line to the returned file, one line a run, and
// runs the real git: what any user of the machine could read in ps.
func RecordArgs(t testing.TB) string {
	t.Helper()
	real, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	bin := t.TempDir()
	log := filepath.Join(t.TempDir(), "args")
	script := "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '" + log + "'\nexec '" + real + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "git"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	return log
}
