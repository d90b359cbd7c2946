package resolver

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/parsetest"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/pep508"
	"github.com/larder-build/larder/resolver/target"
)

func pure(version string, requires ...string) pypitest.Release {
	return pypitest.Release{Version: version, Requires: requires, Wheels: []pypitest.Wheel{{Tags: "py3-none-any"}}}
}

func reqs(t *testing.T, lines ...string) []Requirement {
	t.Helper()
	var out []Requirement
	for i, l := range lines {
		r, err := pep508.ParseRequirement(l)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Requirement{Requirement: r, Source: "requirements.txt:" + string(rune('1'+i))})
	}
	return out
}

func mustTarget(t testing.TB, s string) target.Target {
	t.Helper()
	return parsetest.Must(t, target.Parse, s)
}

func resolveWith(t *testing.T, idx *pypitest.Index, req Request) (*Result, error) {
	t.Helper()
	srv := pypitest.Start(t, idx)
	c, err := index.New([]string{srv.URL()}, index.WithCacheDir(t.TempDir()), index.WithRetries(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Targets) == 0 {
		req.Targets = []target.Target{mustTarget(t, "linux/amd64:3.11:glibc2.36")}
	}
	return Resolve(context.Background(), c, req)
}

func pins(r *Result, ti int) string {
	var out []string
	for _, p := range r.Packages {
		for _, x := range p.Targets {
			if x == ti {
				out = append(out, p.Name+"=="+p.Version.String())
			}
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func TestResolveAgainstFakeIndex(t *testing.T) {
	tests := []struct {
		name  string
		idx   pypitest.Index
		roots []string
		cons  []string
		want  string
	}{
		{
			name: "newest versions and transitive dependencies",
			idx: pypitest.Index{Projects: []pypitest.Project{
				{Name: "app", Releases: []pypitest.Release{pure("1.0", "lib>=1"), pure("2.0", "lib>=2")}},
				{Name: "lib", Releases: []pypitest.Release{pure("1.0"), pure("2.0"), pure("2.1")}},
			}},
			roots: []string{"app"},
			want:  "app==2.0 lib==2.1",
		},
		{
			name: "backtracks over a newer version whose dependency conflicts",
			idx: pypitest.Index{Projects: []pypitest.Project{
				{Name: "a", Releases: []pypitest.Release{pure("1.0", "c<2"), pure("2.0", "c>=2")}},
				{Name: "b", Releases: []pypitest.Release{pure("1.0", "c<2")}},
				{Name: "c", Releases: []pypitest.Release{pure("1.0"), pure("2.0")}},
			}},
			roots: []string{"a", "b"},
			want:  "a==1.0 b==1.0 c==1.0",
		},
		{
			name: "extras pull their dependencies",
			idx: pypitest.Index{Projects: []pypitest.Project{
				{Name: "req", Releases: []pypitest.Release{{Version: "2.0", Extras: []string{"socks"},
					Requires: []string{`pysocks>=1.5 ; extra == "socks"`}, Wheels: []pypitest.Wheel{{Tags: "py3-none-any"}}}}},
				{Name: "PySocks", Releases: []pypitest.Release{pure("1.7.1")}},
			}},
			roots: []string{"req[socks]"},
			want:  "pysocks==1.7.1 req==2.0",
		},
		{
			name: "markers are evaluated for the target",
			idx: pypitest.Index{Projects: []pypitest.Project{
				{Name: "app", Releases: []pypitest.Release{pure("1.0", `pywin32 ; sys_platform == "win32"`, `tomli ; python_version < "3.11"`, `six ; platform_machine == "x86_64"`)}},
				{Name: "six", Releases: []pypitest.Release{pure("1.16.0")}},
			}},
			roots: []string{"app"},
			want:  "app==1.0 six==1.16.0",
		},
		{
			name: "requires-python and yanked versions are skipped",
			idx: pypitest.Index{Projects: []pypitest.Project{
				{Name: "lib", Releases: []pypitest.Release{pure("1.0"), {Version: "1.1", Yanked: "broken", Wheels: []pypitest.Wheel{{Tags: "py3-none-any"}}},
					{Version: "2.0", RequiresPython: ">=3.14", Wheels: []pypitest.Wheel{{Tags: "py3-none-any"}}}}},
			}},
			roots: []string{"lib"},
			want:  "lib==1.0",
		},
		{
			name: "constraints restrict but never add",
			idx: pypitest.Index{Projects: []pypitest.Project{
				{Name: "lib", Releases: []pypitest.Release{pure("1.0"), pure("2.0")}},
				{Name: "other", Releases: []pypitest.Release{pure("1.0")}},
			}},
			roots: []string{"lib"},
			cons:  []string{"lib<2", "other==1.0"},
			want:  "lib==1.0",
		},
		{
			name: "platform wheels are chosen per target",
			idx: pypitest.Index{Projects: []pypitest.Project{
				{Name: "fast", Releases: []pypitest.Release{
					{Version: "1.0", Wheels: []pypitest.Wheel{{Tags: "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"}}},
					{Version: "2.0", Wheels: []pypitest.Wheel{{Tags: "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64"}}},
				}},
			}},
			roots: []string{"fast"},
			want:  "fast==1.0",
		},
		{
			name: "pre-releases only when named or alone",
			idx: pypitest.Index{Projects: []pypitest.Project{
				{Name: "a", Releases: []pypitest.Release{pure("1.0"), pure("2.0b1")}},
				{Name: "b", Releases: []pypitest.Release{pure("1.0"), pure("2.0b1")}},
				{Name: "c", Releases: []pypitest.Release{pure("0.1a1")}},
			}},
			roots: []string{"a", "b>=2.0b1", "c"},
			want:  "a==1.0 b==2.0b1 c==0.1a1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := resolveWith(t, &tt.idx, Request{Requirements: reqs(t, tt.roots...), Constraints: reqs(t, tt.cons...)})
			if err != nil {
				t.Fatal(err)
			}
			if got := pins(res, 0); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestResolveExplainsConflicts(t *testing.T) {
	idx := pypitest.Index{Projects: []pypitest.Project{
		{Name: "web", Releases: []pypitest.Release{pure("1.0", "django<4"), pure("2.0", "django>=4")}},
		{Name: "django", Releases: []pypitest.Release{pure("3.2"), pure("4.2")}},
		{Name: "auth", Releases: []pypitest.Release{pure("1.0", "django<4")}},
	}}
	_, err := resolveWith(t, &idx, Request{Requirements: reqs(t, "web>=2", "auth")})
	if err == nil {
		t.Fatal("want a conflict")
	}
	for _, want := range []string{"web==2.0 depends on django>=4", "auth==1.0 depends on django<4", "the project requires web>=2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("explanation lacks %q:\n%v", want, err)
		}
	}
}

func TestResolveSharesPureWheelsAcrossTargets(t *testing.T) {
	idx := pypitest.Index{Projects: []pypitest.Project{
		{Name: "app", Releases: []pypitest.Release{pure("1.0", "fast")}},
		{Name: "fast", Releases: []pypitest.Release{{Version: "1.0", Wheels: []pypitest.Wheel{
			{Tags: "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"},
			{Tags: "cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64"},
		}}}},
	}}
	res, err := resolveWith(t, &idx, Request{
		Requirements: reqs(t, "app"),
		Targets:      []target.Target{mustTarget(t, "linux/amd64:3.11"), mustTarget(t, "linux/arm64:3.11")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Packages) != 2 {
		t.Fatalf("got %d packages, want app and fast once each", len(res.Packages))
	}
	fast := res.Packages[1]
	if !strings.Contains(fast.Files[0].Filename, "x86_64") || !strings.Contains(fast.Files[1].Filename, "aarch64") {
		t.Errorf("files per target: %v / %v", fast.Files[0].Filename, fast.Files[1].Filename)
	}
}

func TestResolveReportsUnknownProjectsAndImpossibleVersions(t *testing.T) {
	idx := pypitest.Index{Projects: []pypitest.Project{{Name: "lib", Releases: []pypitest.Release{pure("1.0")}}}}
	_, err := resolveWith(t, &idx, Request{Requirements: reqs(t, "nope")})
	if err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown project: %v", err)
	}
	_, err = resolveWith(t, &idx, Request{Requirements: reqs(t, "lbi")})
	if err == nil || !strings.Contains(err.Error(), "did you mean lib?") {
		t.Errorf("misspelt project: %v", err)
	}
	_, err = resolveWith(t, &idx, Request{Requirements: reqs(t, "lib>=5")})
	if err == nil || !strings.Contains(err.Error(), "lib>=5") || !strings.Contains(err.Error(), "available: 1.0") {
		t.Errorf("impossible version: %v", err)
	}
}

func TestResolveSkipsAVersionWithBrokenMetadata(t *testing.T) {
	idx := &pypitest.Index{Projects: []pypitest.Project{{Name: "lib", Releases: []pypitest.Release{pure("1.0"), pure("2.0")}}}}
	srv := pypitest.Start(t, idx)
	// The index answers for 2.0 with something that is not core metadata.
	c, err := index.New([]string{srv.URL()}, index.WithCacheDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Resolve(context.Background(), &brokenMeta{Index: c, broken: "lib-2.0-py3-none-any.whl"},
		Request{Requirements: reqs(t, "lib"), Targets: []target.Target{mustTarget(t, "linux/amd64:3.11")}})
	if err != nil {
		t.Fatal(err)
	}
	if got := pins(res, 0); got != "lib==1.0" {
		t.Errorf("got %s, want the version with readable metadata", got)
	}
	_, err = Resolve(context.Background(), &brokenMeta{Index: c, broken: "lib-2.0-py3-none-any.whl"},
		Request{Requirements: reqs(t, "lib>=2"), Targets: []target.Target{mustTarget(t, "linux/amd64:3.11")}})
	if err == nil || !strings.Contains(err.Error(), "lib==2.0 cannot be used") || !strings.Contains(err.Error(), "metadata") {
		t.Errorf("got %v, want an explanation naming the broken metadata", err)
	}
}

// brokenMeta answers with unparseable metadata for one file.
type brokenMeta struct {
	Index
	broken string
}

func (b *brokenMeta) Metadata(ctx context.Context, f index.File) ([]byte, error) {
	if f.Filename == b.broken {
		return []byte("this is not metadata\n"), nil
	}
	return b.Index.Metadata(ctx, f)
}
