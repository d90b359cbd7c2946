package fetch

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/locktest"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/resolver/pylock"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/build"
)

const (
	amd64 = "linux/amd64:3.11:glibc2.36"
	arm64 = "linux/arm64:3.11:glibc2.36"
)

func pure(version string, requires ...string) pypitest.Release {
	return pypitest.Release{Version: version, Requires: requires, Wheels: []pypitest.Wheel{{Tags: "py3-none-any"}}}
}

// smallIndex has a pure closure, platform wheels for two architectures,
// a wheel large enough for several progress events, and a release that
// has only an sdist.
func smallIndex() *pypitest.Index {
	return &pypitest.Index{Projects: []pypitest.Project{
		{Name: "app", Releases: []pypitest.Release{pure("1.0", "lib>=1", "fast", "Big_Pkg")}},
		{Name: "lib", Releases: []pypitest.Release{pure("1.0"), {Version: "2.0", RequiresPython: ">=3.8", Wheels: []pypitest.Wheel{{Tags: "py3-none-any"}}}}},
		{Name: "fast", Releases: []pypitest.Release{{Version: "1.0", Wheels: []pypitest.Wheel{
			{Tags: "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"},
			{Tags: "cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64"},
		}}}},
		{Name: "Big_Pkg", Releases: []pypitest.Release{{Version: "3.0", Wheels: []pypitest.Wheel{{Tags: "py3-none-any", Size: 700 << 10}}}}},
	}}
}

// withSdist adds a project published as an sdist only.
func withSdist(idx *pypitest.Index) *pypitest.Index {
	idx.Projects = append(idx.Projects, pypitest.Project{Name: "srconly", Releases: []pypitest.Release{{Version: "0.5", Sdist: true, SdistSize: 20 << 10}}})
	idx.Projects[0].Releases[0].Requires = append(idx.Projects[0].Releases[0].Requires, "srconly")
	return idx
}

// lockIndex serves idx and locks roots for targets with the real
// resolver, as 'larder lock' does.
func lockIndex(t testing.TB, idx *pypitest.Index, roots []string, targets []string, opts ...pypitest.Option) (*pypitest.Server, *pylock.Lock) {
	t.Helper()
	srv := pypitest.Start(t, idx, opts...)
	lock := locktest.Lock(t, srv.URL(), locktest.Roots(t, roots...), targets...)
	srv.Reset()
	return srv, lock
}

// fileRequests counts the requests for distributions (not pages).
func fileRequests(srv *pypitest.Server) int {
	n := 0
	for p, c := range srv.Counts() {
		if strings.HasPrefix(p, "/files/") {
			n += c
		}
	}
	return n
}

func newStore(t testing.TB) *wheelhouse.Store {
	t.Helper()
	s, err := wheelhouse.Create(filepath.Join(t.TempDir(), "wheelhouse"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fastOptions retry without waiting, so that fault tests stay quick, and
// add more.
func fastOptions(more ...Option) []Option {
	return append([]Option{func(o *options) error { o.backoff, o.commitEvery = 1, 50e6; return nil }}, more...)
}

// lockedFiles lists the file names a lock lists.
func lockedFiles(l *pylock.Lock) []string {
	var out []string
	for _, p := range l.Packages {
		for _, w := range p.Wheels {
			out = append(out, w.FileName())
		}
		if p.Sdist != nil {
			out = append(out, p.Sdist.FileName())
		}
	}
	sort.Strings(out)
	return out
}

// leftovers lists what in files/ is neither a distribution nor a sidecar.
func leftovers(t testing.TB, s *wheelhouse.Store) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(s.Dir(), wheelhouse.FilesDir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if wheelhouse.IsTemporary(e.Name()) || e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

func reopen(t testing.TB, s *wheelhouse.Store) *wheelhouse.Store {
	t.Helper()
	s2, err := wheelhouse.Open(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	return s2
}

func mustVerifyClean(t testing.TB, s *wheelhouse.Store, l *pylock.Lock) {
	t.Helper()
	r, err := Verify(context.Background(), reopen(t, s), l)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems) > 0 {
		t.Fatalf("verify found problems: %+v", r.Problems)
	}
}

// fakeBuilder makes real wheels with pypitest: pure ones, or for the
// target's platform when platform is set; wrongTarget builds for the
// other architecture, as a misconfigured builder would.
type fakeBuilder struct {
	platform    bool
	wrongTarget bool

	mu    sync.Mutex
	calls []build.Request
}

func (b *fakeBuilder) Build(ctx context.Context, req build.Request, outDir string) (string, error) {
	b.mu.Lock()
	b.calls = append(b.calls, req)
	b.mu.Unlock()
	if req.Sdist == "" && req.VCS == nil {
		return "", &build.Error{Project: req.Project, Version: req.Version, Err: os.ErrInvalid}
	}
	if req.Sdist != "" {
		if _, err := os.Stat(req.Sdist); err != nil {
			return "", err
		}
	}
	tags := "py3-none-any"
	if b.platform {
		machine := req.Target.Machine()
		if b.wrongTarget {
			machine = map[string]string{"x86_64": "aarch64", "aarch64": "x86_64"}[machine]
		}
		tags = "cp311-cp311-linux_" + machine
	}
	p := &pypitest.Project{Name: req.Project}
	r := &pypitest.Release{Version: req.Version}
	f, err := pypitest.BuildWheel(p, r, pypitest.Wheel{Tags: tags})
	if err != nil {
		return "", err
	}
	path := filepath.Join(outDir, f.Filename)
	return path, os.WriteFile(path, f.Data, 0o644)
}

func (b *fakeBuilder) requests() []build.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]build.Request{}, b.calls...)
}

func hashOf(path string) (string, int64, error) { return wheelhouse.HashFile(path) }

// libWheelOf returns the place of the lock's libWheel: its package's
// index and the wheel's among that package's.
func libWheelOf(t testing.TB, lock *pylock.Lock) (pi, wi int) {
	t.Helper()
	for i, p := range lock.Packages {
		for j, w := range p.Wheels {
			if w.FileName() == libWheel {
				return i, j
			}
		}
	}
	t.Fatalf("no %s in the lock", libWheel)
	return -1, -1
}

// withWheelURL returns a copy of lock whose wheel wi of package pi is
// downloaded from u; lock is left as it is.
func withWheelURL(lock *pylock.Lock, pi, wi int, u string) *pylock.Lock {
	l := *lock
	l.Packages = append(l.Packages[:0:0], lock.Packages...)
	p := l.Packages[pi]
	p.Wheels = append(p.Wheels[:0:0], p.Wheels...)
	p.Wheels[wi].URL = u
	l.Packages[pi] = p
	return &l
}

// fetchLib fetches the lock l, whose wheel of lib a test serves, into a
// new store, and checks the outcome against want (in the error; "" for
// success): a fetch that succeeds verifies clean; one that fails names
// lib's wheel and says want, within bound, and keeps nothing of it. It
// reports whether the fetch failed, for the test's own checks of how.
func fetchLib(t *testing.T, ctx context.Context, l *pylock.Lock, want string, bound time.Duration, opts ...Option) bool {
	t.Helper()
	s := newStore(t)
	start := time.Now()
	_, err := Fetch(ctx, s, l, opts...)
	took := time.Since(start)
	if want == "" {
		if err != nil {
			t.Fatal(err)
		}
		mustVerifyClean(t, s, l)
		return false
	}
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), libWheel) {
		t.Errorf("got %v; want an error naming %s and saying %q", err, libWheel, want)
	}
	if took > bound {
		t.Errorf("took %v, more than %v", took, bound)
	}
	assertNothingKept(t, s, libWheel)
	return true
}
