package serve

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/piptest"
	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/internal/wheelhousetest"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/wheelhouse"
)

// bake downloads files from a fake PyPI into a new store in dir, as larder
// fetch does: real bytes over HTTP, checked against the listed sha256, a
// PEP 658 sidecar for every wheel, and complete entries. edit, if not nil,
// may change each entry (mark it private, say it was built from a fork).
func bake(t testing.TB, srv *pypitest.Server, dir string, files []*pypitest.File, edit func(*wheelhouse.Entry)) *wheelhouse.Store {
	t.Helper()
	st, err := wheelhouse.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data := testenv.Download(t, srv.BaseURL()+"/files/"+f.Filename)
		if got := sha256Hex(data); got != f.SHA256 {
			t.Fatalf("baking %s: sha256 %s, listed %s", f.Filename, got, f.SHA256)
		}
		if err := wheelhouse.WriteFileAtomic(st.Path(f.Filename), data, 0o644); err != nil {
			t.Fatal(err)
		}
		e := wheelhouse.Entry{
			Filename: f.Filename, Project: pypitest.Normalize(f.Project), Version: f.Version,
			SHA256: f.SHA256, Size: int64(len(data)), RequiresPython: f.RequiresPython, UploadTime: f.UploadTime,
			Origin: wheelhouse.Origin{Kind: wheelhouse.OriginIndex, URL: srv.BaseURL() + "/files/" + f.Filename, Index: srv.URL()},
		}
		if !f.IsSdist {
			md := testenv.Download(t, srv.BaseURL()+"/files/"+f.Filename+".metadata")
			if err := wheelhouse.WriteFileAtomic(st.MetadataPath(f.Filename), md, 0o644); err != nil {
				t.Fatal(err)
			}
			e.MetadataSHA256 = sha256Hex(md)
		}
		if edit != nil {
			edit(&e)
		}
		if err := st.Put(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Commit(); err != nil {
		t.Fatal(err)
	}
	return st
}

// originStore bakes a store of plain 1.0 from the index, forked 2.0 built
// from a fork, built 3.0 built from an sdist, and the extra projects, of
// which one named "secret" is private.
func originStore(t testing.TB, extra ...pypitest.Project) *wheelhouse.Store {
	t.Helper()
	projects := append([]pypitest.Project{
		{Name: "plain", Releases: []pypitest.Release{release("1.0")}},
		{Name: "forked", Releases: []pypitest.Release{release("2.0")}},
		{Name: "built", Releases: []pypitest.Release{release("3.0")}},
	}, extra...)
	srv := pypitest.Start(t, &pypitest.Index{Projects: projects})
	names := make([]string, len(projects))
	for i, p := range projects {
		names[i] = p.Name
	}
	return bake(t, srv, t.TempDir(), filesOf(t, srv, nil, names...), func(e *wheelhouse.Entry) {
		switch e.Project {
		case "forked":
			e.Origin = wheelhouse.Origin{Kind: wheelhouse.OriginVCS, URL: "https://git.example/forked.git", Commit: "0123456789abcdef0123"}
		case "built":
			e.Origin = wheelhouse.Origin{Kind: wheelhouse.OriginSdist, Sdist: "built-3.0.tar.gz"}
		case "secret":
			e.Private = true
		}
	})
}

// filesOf returns the built files of the named projects, at the given
// versions when versions is not nil.
func filesOf(t testing.TB, srv *pypitest.Server, versions map[string]string, names ...string) []*pypitest.File {
	t.Helper()
	var out []*pypitest.File
	for _, n := range names {
		fs, err := srv.Files(n)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			if v, ok := versions[pypitest.Normalize(n)]; versions == nil || ok && v == f.Version {
				out = append(out, f)
			}
		}
	}
	return out
}

// release is shorthand for a one-wheel release in test specs.
func release(version string, requires ...string) pypitest.Release {
	return pypitest.Release{Version: version, Wheels: []pypitest.Wheel{{Tags: "py3-none-any"}}, Requires: requires, RequiresPython: ">=3.8"}
}

// testLog collects a server's log lines for assertions.
type testLog struct{ wheelhousetest.Buffer }

func (l *testLog) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// fakeClock is a settable clock for TTL and breaker tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// startServer runs a Server through Serve (the production limits and
// timeouts) on a loopback port for the test's lifetime.
func startServer(t testing.TB, st *wheelhouse.Store, opts ...Option) (*Server, string) {
	t.Helper()
	s, err := New(st, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s, serveOn(t, s)
}

// serveOn serves s on a loopback port until the test ends and returns
// its base URL: for a test that sets s's hooks before it serves.
func serveOn(t testing.TB, s *Server) string {
	t.Helper()
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wheelhousetest.Serve(t, ln, s.Serve)
	return "http://" + ln.Addr().String()
}

// refusingAddr returns a loopback address nothing listens on.
func refusingAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// get performs a GET with headers given as "Name: value" pairs.
func get(t testing.TB, u string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		if h == "" {
			continue
		}
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", u, err)
	}
	return resp, b
}

var noRedirect = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       30 * time.Second,
}

const pipAccept = "Accept: application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"

// pip runs a real pip isolated from the machine's configuration, caches
// and proxies.
type pip struct{ *piptest.Pip }

func newPip(t *testing.T, python string) *pip { return &pip{piptest.New(t, python)} }

// install runs pip install --target into a new folder and returns it.
func (p *pip) install(t *testing.T, index string, args ...string) (string, string, error) {
	t.Helper()
	target := filepath.Join(t.TempDir(), "target")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	full := append([]string{"-m", "pip", "install", "--no-compile", "--no-input", "--target", target, "--index-url", index}, args...)
	cmd := exec.CommandContext(ctx, p.Python, full...)
	cmd.Env = p.Env
	cmd.Dir = p.Dir
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("pip %s: timed out\n%s", strings.Join(args, " "), out)
	}
	return target, string(out), err
}

// installed returns the name==version of every distribution in a --target
// folder, sorted.
func installed(t *testing.T, target string) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(target, "*.dist-info"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range dirs {
		base := strings.TrimSuffix(filepath.Base(d), ".dist-info")
		name, version, _ := strings.Cut(base, "-")
		out = append(out, pypitest.Normalize(name)+"=="+version)
	}
	sort.Strings(out)
	return out
}

func sha256Of(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func removeFile(p string) error { return os.Remove(p) }

// resolve resolves a page's relative link as a client does.
func resolve(t testing.TB, pageURL, ref string) string {
	t.Helper()
	b, err := url.Parse(pageURL)
	if err != nil {
		t.Fatal(err)
	}
	r, err := b.Parse(ref)
	if err != nil {
		t.Fatal(err)
	}
	return r.String()
}
