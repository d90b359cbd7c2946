package serve

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/edxindex"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/wheelhouse"
)

var edxOnce struct {
	sync.Once
	idx *pypitest.Index
	w   *edxindex.Workload
	err error
}

// edxWorkload is the edx-platform workload at 1% of its size. mysqlclient
// is published as an sdist only, which pip cannot build offline here; it
// gets a wheel, which the store records as built from the sdist, as larder
// fetch would.
func edxWorkload(t *testing.T) (*pypitest.Index, *edxindex.Workload) {
	t.Helper()
	edxOnce.Do(func() {
		edxOnce.idx, edxOnce.w, edxOnce.err = edxindex.Generate(edxindex.Options{Scale: 0.01})
		if edxOnce.err != nil {
			return
		}
		for i, p := range edxOnce.idx.Projects {
			if p.Name == "mysqlclient" {
				for j := range p.Releases {
					edxOnce.idx.Projects[i].Releases[j].Wheels = []pypitest.Wheel{{Tags: "py3-none-any"}}
				}
			}
		}
	})
	if edxOnce.err != nil {
		t.Fatal(edxOnce.err)
	}
	return edxOnce.idx, edxOnce.w
}

// TestPipInstallsTheWorkloadWithTheUpstreamCutOff installs the whole
// edx-platform closure (302 distributions) from the top-level requirements
// and the constraints file, as `make requirements` does, from a server
// whose upstream is cut off: offline, and refusing connections.
func TestPipInstallsTheWorkloadWithTheUpstreamCutOff(t *testing.T) {
	newPip(t, "python3") // skips early when pip is missing or -short
	idx, w := edxWorkload(t)
	srv := pypitest.Start(t, idx)
	var names, want []string
	for n, v := range w.Pins {
		names = append(names, n)
		want = append(want, n+"=="+v)
	}
	sort.Strings(want)
	st := bake(t, srv, t.TempDir(), filesOf(t, srv, w.Pins, names...), func(e *wheelhouse.Entry) {
		if e.Project == "mysqlclient" {
			e.Origin = wheelhouse.Origin{Kind: wheelhouse.OriginSdist, Sdist: pypitest.SdistFilename("mysqlclient", e.Version)}
		}
	})
	roots, err := w.RootsFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv.Reset()
	cases := []struct {
		name string
		opts []Option
	}{
		{"offline", []Option{WithOffline(true), WithUpstream(srv.URL())}},
		// One failed connection per breaker period is the promise; on a
		// loaded machine this install outlasts the production back-off
		// (30 s: it took 31 s to 105 s here, and a second probe was then
		// right), so the test's period outlasts any install.
		{"refused", []Option{WithUpstream("http://" + refusingAddr(t) + "/simple/"), withBackoff(time.Hour, time.Hour)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := newPip(t, "python3")
			s, base := startServer(t, st, append(c.opts, WithCacheDir(t.TempDir()))...)
			target, out, err := p.install(t, base+"/simple/", "-r", roots)
			if err != nil {
				t.Fatalf("pip install: %v\n%s", err, out)
			}
			if got := installed(t, target); !slices.Equal(got, want) {
				t.Errorf("installed %d distributions, want the %d pins\n got %v\nwant %v", len(got), len(want), got, want)
			}
			st := s.Stats()
			switch c.name {
			case "offline":
				if st.UpstreamRequests != 0 {
					t.Errorf("offline: %+v", st)
				}
			case "refused":
				// One failed connection for the whole install; every
				// other page was answered from local files at once.
				if st.UpstreamRequests != 1 || st.UpstreamFailures != 1 || st.UpstreamSkipped < int64(len(want))-1 {
					t.Errorf("refused upstream: %+v", st)
				}
			}
		})
	}
	t.Cleanup(func() {
		if n := srv.TotalRequests(); n != 0 {
			t.Errorf("the fake PyPI got %d requests", n)
		}
	})
}

// bumpIndex is a small project whose 1.0 is baked and whose 1.1 exists
// only upstream, with a dependency that is baked.
func bumpIndex(withBump bool) *pypitest.Index {
	rel := []pypitest.Release{release("1.0", "helper>=1")}
	if withBump {
		rel = append(rel, release("1.1", "helper>=1"))
	}
	return &pypitest.Index{Projects: []pypitest.Project{
		{Name: "bumpy", Releases: rel},
		{Name: "helper", Releases: []pypitest.Release{release("1.0")}},
	}}
}

func TestPipInstallsABumpedVersionThroughTheUpstreamThenWithItStopped(t *testing.T) {
	p := newPip(t, "python3")
	own := pypitest.Start(t, bumpIndex(false))
	st := bake(t, own, t.TempDir(), filesOf(t, own, nil, "bumpy", "helper"), nil)
	up := pypitest.Start(t, bumpIndex(true))
	cache := t.TempDir()
	s, base := startServer(t, st, WithUpstream(up.URL()), WithCacheDir(cache))
	target, out, err := p.install(t, base+"/simple/", "bumpy==1.1")
	if err != nil {
		t.Fatalf("pip install through the upstream: %v\n%s", err, out)
	}
	if got := installed(t, target); !slices.Equal(got, []string{"bumpy==1.1", "helper==1.0"}) {
		t.Errorf("installed %v", got)
	}
	bumped := "bumpy-1.1-py3-none-any.whl"
	if n := up.Requests("/files/" + bumped); n != 1 {
		t.Errorf("the upstream served %s %d times", bumped, n)
	}
	if n := up.Requests("/files/helper-1.0-py3-none-any.whl"); n != 0 {
		t.Errorf("the baked helper was fetched from the upstream %d times", n)
	}
	if st := s.Stats(); st.FilesCached != 1 {
		t.Errorf("stats %+v", st)
	}
	gone := up.URL()
	up.Close()

	// The same server, its upstream gone, and a new one on the same cache.
	_, base2 := startServer(t, st, WithUpstream(gone), WithCacheDir(cache))
	for _, b := range []string{base, base2} {
		target, out, err := p.install(t, b+"/simple/", "bumpy==1.1")
		if err != nil {
			t.Fatalf("pip install with the upstream stopped: %v\n%s", err, out)
		}
		if got := installed(t, target); !slices.Equal(got, []string{"bumpy==1.1", "helper==1.0"}) {
			t.Errorf("installed %v", got)
		}
	}
	cs, err := wheelhouse.Open(cache)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cs.Lookup(bumped); !ok {
		t.Errorf("%s is not in the cache's manifest", bumped)
	}
}

func TestPipInstallsTheBakedPrivateProjectNotTheUpstreamsHigherOne(t *testing.T) {
	own := pypitest.Start(t, &pypitest.Index{Projects: []pypitest.Project{
		{Name: "acme-billing", Releases: []pypitest.Release{release("1.0")}},
		{Name: "acme-forked", Releases: []pypitest.Release{release("2.0")}},
	}})
	st := bake(t, own, t.TempDir(), filesOf(t, own, nil, "acme-billing", "acme-forked"), func(e *wheelhouse.Entry) {
		if e.Project == "acme-forked" {
			e.Origin = wheelhouse.Origin{Kind: wheelhouse.OriginVCS, URL: "https://git.example/acme-forked.git", Commit: "deadbeef"}
		}
	})
	up := pypitest.Start(t, &pypitest.Index{Projects: []pypitest.Project{
		{Name: "acme-billing", Releases: []pypitest.Release{release("1.0"), release("99.0")}},
		{Name: "acme-forked", Releases: []pypitest.Release{release("2.0"), release("99.0")}},
	}})
	for _, python := range []string{"python3", "/usr/bin/python3"} {
		t.Run(strings.ReplaceAll(python, "/", "_"), func(t *testing.T) {
			p := newPip(t, python)
			_, base := startServer(t, st, WithUpstream(up.URL()), WithPrivate("acme-billing"), WithCacheDir(t.TempDir()))
			target, out, err := p.install(t, base+"/simple/", "acme-billing", "acme-forked")
			if err != nil {
				t.Fatalf("pip install: %v\n%s", err, out)
			}
			if got := installed(t, target); !slices.Equal(got, []string{"acme-billing==1.0", "acme-forked==2.0"}) {
				t.Errorf("installed %v", got)
			}
			for path, n := range up.Counts() {
				t.Errorf("the upstream was asked %d times for %s", n, path)
			}
		})
	}
}
