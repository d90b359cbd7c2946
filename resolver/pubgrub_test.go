package resolver

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// toyProblem is an in-memory problem: versions are listed ascending and
// dependencies name the allowed versions explicitly.
type toyProblem struct {
	versions map[string][]string
	deps     map[string]map[string][]toyDep // pkg -> version -> deps
	broken   map[string]string              // "pkg==v" -> reason
}

type toyDep struct {
	pkg     string
	allowed []string // nil: any version
	text    string
}

func (p *toyProblem) candidates(_ context.Context, pkg string) (int, []int, error) {
	vs, ok := p.versions[pkg]
	if !ok {
		return 0, nil, fmt.Errorf("unknown package %s", pkg)
	}
	pref := make([]int, len(vs))
	for i := range vs {
		pref[i] = len(vs) - 1 - i
	}
	return len(vs), pref, nil
}

func (p *toyProblem) set(pkg string, allowed []string) vset {
	vs := p.versions[pkg]
	if allowed == nil {
		return fullSet(len(vs))
	}
	s := emptySet(len(vs))
	for i, v := range vs {
		for _, a := range allowed {
			if a == v {
				s.add(i)
			}
		}
	}
	return s
}

func (p *toyProblem) dependencies(_ context.Context, pkg string, i int) ([]dependency, error) {
	v := p.versions[pkg][i]
	if r, ok := p.broken[pkg+"=="+v]; ok {
		return nil, &unusableError{r}
	}
	var out []dependency
	for _, d := range p.deps[pkg][v] {
		out = append(out, dependency{pkg: d.pkg, set: p.set(d.pkg, d.allowed), text: d.text})
	}
	return out, nil
}

func (p *toyProblem) constraint(string) (vset, string, bool) { return vset{}, "", false }
func (p *toyProblem) describe(pkg string, s vset) string     { return describeSet(pkg, p.versions[pkg], s) }
func (p *toyProblem) versionString(pkg string, i int) string { return p.versions[pkg][i] }

func (p *toyProblem) root(deps ...toyDep) []dependency {
	var out []dependency
	for _, d := range deps {
		out = append(out, dependency{pkg: d.pkg, set: p.set(d.pkg, d.allowed), text: d.text})
	}
	return out
}

func dep(pkg string, allowed ...string) toyDep {
	text := pkg
	if allowed != nil {
		text = pkg + " in {" + strings.Join(allowed, ", ") + "}"
	}
	return toyDep{pkg: pkg, allowed: allowed, text: text}
}

func solution(t *testing.T, p *toyProblem, got map[string]int) string {
	t.Helper()
	var parts []string
	for pkg, i := range got {
		parts = append(parts, pkg+"=="+p.versions[pkg][i])
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// The scenarios are PubGrub's documented examples (pub's solver.md).
func TestSolverFindsTheNewestCompatibleVersions(t *testing.T) {
	tests := []struct {
		name string
		p    *toyProblem
		root []toyDep
		want string
	}{
		{
			name: "no conflicts",
			p: &toyProblem{
				versions: map[string][]string{"foo": {"1.0.0"}, "bar": {"1.0.0", "1.1.0"}},
				deps:     map[string]map[string][]toyDep{"foo": {"1.0.0": {dep("bar")}}},
			},
			root: []toyDep{dep("foo")},
			want: "bar==1.1.0 foo==1.0.0",
		},
		{
			name: "avoiding conflict during decision making",
			p: &toyProblem{
				versions: map[string][]string{"foo": {"1.0.0", "1.1.0"}, "bar": {"1.0.0", "1.1.0", "2.0.0"}},
				deps: map[string]map[string][]toyDep{
					"foo": {"1.1.0": {dep("bar", "2.0.0")}},
				},
			},
			root: []toyDep{dep("foo"), dep("bar", "1.0.0", "1.1.0")},
			want: "bar==1.1.0 foo==1.0.0",
		},
		{
			name: "performing conflict resolution",
			p: &toyProblem{
				versions: map[string][]string{"foo": {"1.0.0", "2.0.0"}, "bar": {"1.0.0"}, "root2": {"1.0.0"}},
				deps: map[string]map[string][]toyDep{
					"foo": {"2.0.0": {dep("bar")}},
					"bar": {"1.0.0": {dep("foo", "1.0.0")}},
				},
			},
			root: []toyDep{dep("foo")},
			want: "foo==1.0.0",
		},
		{
			name: "conflict resolution with a partial satisfier",
			p: &toyProblem{
				versions: map[string][]string{
					"foo": {"1.0.0", "1.1.0"}, "left": {"1.0.0"}, "right": {"1.0.0"},
					"shared": {"1.0.0", "2.0.0"}, "target": {"1.0.0", "2.0.0"},
				},
				deps: map[string]map[string][]toyDep{
					"foo":    {"1.1.0": {dep("left"), dep("right")}},
					"left":   {"1.0.0": {dep("shared", "1.0.0")}},
					"right":  {"1.0.0": {dep("shared", "2.0.0")}},
					"shared": {"1.0.0": {dep("target", "1.0.0")}},
					"target": {"2.0.0": {dep("foo", "1.0.0")}},
				},
			},
			root: []toyDep{dep("foo"), dep("target", "2.0.0")},
			want: "foo==1.0.0 target==2.0.0",
		},
		{
			name: "broken newest version is skipped",
			p: &toyProblem{
				versions: map[string][]string{"foo": {"1.0.0", "2.0.0"}},
				broken:   map[string]string{"foo==2.0.0": "metadata is invalid"},
			},
			root: []toyDep{dep("foo")},
			want: "foo==1.0.0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := solve(context.Background(), tt.p, tt.p.root(tt.root...))
			if err != nil {
				t.Fatal(err)
			}
			if s := solution(t, tt.p, got); s != tt.want {
				t.Errorf("solution %s, want %s", s, tt.want)
			}
		})
	}
}

func TestSolverExplainsLinearConflict(t *testing.T) {
	p := &toyProblem{
		versions: map[string][]string{"foo": {"1.0.0", "2.0.0"}, "bar": {"1.0.0", "2.0.0"}, "baz": {"1.0.0", "3.0.0"}},
		deps: map[string]map[string][]toyDep{
			"foo": {"2.0.0": {dep("bar", "2.0.0")}, "1.0.0": {dep("bar", "2.0.0")}},
			"bar": {"2.0.0": {dep("baz", "3.0.0")}},
		},
	}
	_, err := solve(context.Background(), p, p.root(dep("foo", "2.0.0"), dep("baz", "1.0.0")))
	var ns *NoSolutionError
	if !errors.As(err, &ns) {
		t.Fatalf("got %v, want a NoSolutionError", err)
	}
	msg := err.Error()
	for _, want := range []string{"foo==2.0.0 depends on bar in {2.0.0}", "bar==2.0.0 depends on baz in {3.0.0}", "the project requires baz in {1.0.0}"} {
		if !strings.Contains(msg, want) {
			t.Errorf("explanation lacks %q:\n%s", want, msg)
		}
	}
}

func TestSolverExplainsBranchingConflict(t *testing.T) {
	p := &toyProblem{
		versions: map[string][]string{
			"foo": {"1.0.0", "1.1.0"}, "a": {"1.0.0"}, "b": {"1.0.0", "2.0.0"}, "x": {"1.0.0"}, "y": {"1.0.0", "2.0.0"},
		},
		deps: map[string]map[string][]toyDep{
			"foo": {"1.0.0": {dep("a")}, "1.1.0": {dep("x")}},
			"a":   {"1.0.0": {dep("b", "2.0.0")}},
			"x":   {"1.0.0": {dep("y", "2.0.0")}},
		},
	}
	_, err := solve(context.Background(), p, p.root(dep("foo"), dep("b", "1.0.0"), dep("y", "1.0.0")))
	if err == nil {
		t.Fatal("want no solution")
	}
	msg := err.Error()
	for _, want := range []string{"a==1.0.0 depends on b in {2.0.0}", "x==1.0.0 depends on y in {2.0.0}", "foo"} {
		if !strings.Contains(msg, want) {
			t.Errorf("explanation lacks %q:\n%s", want, msg)
		}
	}
	t.Log(msg)
}

func TestDescribeSetUsesReadableBounds(t *testing.T) {
	vs := []string{"1.0", "1.1", "1.2", "2.0", "2.1"}
	mk := func(idx ...int) vset {
		s := emptySet(len(vs))
		for _, i := range idx {
			s.add(i)
		}
		return s
	}
	tests := []struct {
		set  vset
		want string
	}{
		{fullSet(5), "foo"},
		{mk(), "foo (no version)"},
		{mk(2), "foo==1.2"},
		{mk(0, 1, 2), "foo<=1.2"},
		{mk(3, 4), "foo>=2.0"},
		{mk(1, 2, 3), "foo>=1.1,<=2.0"},
		{mk(0, 1, 3, 4), "foo!=1.2"},
		{mk(0, 2, 4), "foo==1.0 or foo==1.2 or foo==2.1"},
	}
	for _, tt := range tests {
		if got := describeSet("foo", vs, tt.set); got != tt.want {
			t.Errorf("describe %v = %q, want %q", tt.set.members(), got, tt.want)
		}
	}
}
