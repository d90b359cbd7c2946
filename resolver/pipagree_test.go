package resolver

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
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
	"github.com/larder-build/larder/resolver/dist"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/pep440"
	"github.com/larder-build/larder/resolver/pep508"
	"github.com/larder-build/larder/resolver/target"
)

// scenario is a small generated index and the requirements to resolve.
type scenario struct {
	seed  uint64
	idx   *pypitest.Index
	roots []string
}

var scenarioVersions = []string{"1.0", "1.1", "1.2", "2.0", "2.1", "3.0", "3.1b1"}

// genScenario builds an index where newer versions tend to conflict, so
// that resolvers must backtrack: dependencies on later packages with
// ranges, extras, markers (true and false on linux/CPython 3.11),
// requires-python that excludes 3.11, yanked and pre-release versions.
func genScenario(seed uint64) scenario {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	n := 4 + r.IntN(4)
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("pkg%d", i)
	}
	spec := func(vs []string) string {
		v := vs[r.IntN(len(vs))]
		switch r.IntN(7) {
		case 0:
			return ">=" + v
		case 1:
			return "<" + v
		case 2:
			return "==" + v
		case 3:
			return "!=" + v
		case 4:
			return "~=" + v
		case 5:
			return ">=" + vs[0] + ",<" + v
		}
		return ""
	}
	sc := scenario{seed: seed, idx: &pypitest.Index{}}
	pkgVersions := make([][]string, n)
	for i := range names {
		k := 2 + r.IntN(4)
		start := r.IntN(len(scenarioVersions) - k + 1)
		pkgVersions[i] = scenarioVersions[start : start+k]
	}
	for i, name := range names {
		p := pypitest.Project{Name: name}
		for vi, v := range pkgVersions[i] {
			rel := pypitest.Release{Version: v, Wheels: []pypitest.Wheel{{Tags: "py3-none-any"}}}
			for j := i + 1; j < n; j++ {
				if r.IntN(3) != 0 {
					continue
				}
				line := names[j] + spec(pkgVersions[j])
				switch r.IntN(8) {
				case 0:
					line += ` ; python_version < "3.10"`
				case 1:
					line += ` ; sys_platform == "linux"`
				case 2:
					if len(rel.Extras) == 0 {
						rel.Extras = []string{"extra"}
					}
					line += ` ; extra == "extra"`
				}
				rel.Requires = append(rel.Requires, line)
			}
			last := vi == len(pkgVersions[i])-1
			switch {
			case last && r.IntN(5) == 0:
				rel.RequiresPython = ">=3.14"
			case vi > 0 && r.IntN(8) == 0:
				rel.Yanked = "bad release"
			}
			p.Releases = append(p.Releases, rel)
		}
		sc.idx.Projects = append(sc.idx.Projects, p)
	}
	roots := 1 + r.IntN(3)
	perm := r.Perm(n)
	for _, i := range perm[:roots] {
		root := names[i]
		if r.IntN(3) == 0 {
			root += "[extra]"
		}
		root += spec(pkgVersions[i])
		sc.roots = append(sc.roots, root)
	}
	sort.Strings(sc.roots)
	return sc
}

// pipResolve asks the real pip which versions it would install.
func pipResolve(ctx context.Context, dir, indexURL string, roots []string) (map[string]string, string, error) {
	return pipResolveWith(ctx, "python3", dir, indexURL, roots)
}

// pipResolveWith runs pip of the given interpreter; extra pip flags may
// lead roots.
func pipResolveWith(ctx context.Context, python, dir, indexURL string, roots []string) (map[string]string, string, error) {
	python, err := piptest.Interpreter(python)
	if err != nil {
		return nil, "", err
	}
	report := filepath.Join(dir, "report.json")
	args := append([]string{"-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
		"--no-cache-dir", "--disable-pip-version-check", "--no-input", "--index-url", indexURL, "--report", report}, roots...)
	cmd := exec.CommandContext(ctx, python, args...)
	cmd.Env = append(piptest.Env(dir), "PYTHONWARNINGS=ignore")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, string(out), err
	}
	b, err := os.ReadFile(report)
	if err != nil {
		return nil, string(out), err
	}
	var rep struct {
		Install []struct {
			Metadata struct{ Name, Version string } `json:"metadata"`
		} `json:"install"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, string(out), err
	}
	got := map[string]string{}
	for _, x := range rep.Install {
		got[dist.NormalizeName(x.Metadata.Name)] = x.Metadata.Version
	}
	return got, string(out), nil
}

// validSolution checks a solution against the index spec independently
// of either resolver: every root and applicable dependency is satisfied,
// no version needs another Python.
func validSolution(sc scenario, sol map[string]string, env pep508.Environment) error {
	releases := map[string]map[string]pypitest.Release{}
	for _, p := range sc.idx.Projects {
		releases[p.Name] = map[string]pypitest.Release{}
		for _, r := range p.Releases {
			releases[p.Name][r.Version] = r
		}
	}
	py := pep440.MustParse(env[pep508.PythonFullVersion])
	type need struct {
		req pep508.Requirement
	}
	var queue []need
	for _, root := range sc.roots {
		r, err := pep508.ParseRequirement(root)
		if err != nil {
			return err
		}
		queue = append(queue, need{req: r})
	}
	seen := map[string]bool{}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		name := n.req.NormalizedName()
		v, ok := sol[name]
		if !ok {
			return fmt.Errorf("%s is required but not installed", n.req.String())
		}
		if !n.req.Specifiers.Contains(pep440.MustParse(v), true) {
			return fmt.Errorf("%s==%s does not satisfy %s", name, v, n.req.String())
		}
		rel := releases[name][v]
		if rel.RequiresPython != "" && !pep440.MustParseSpecifiers(rel.RequiresPython).Contains(py, true) {
			return fmt.Errorf("%s==%s requires Python %s", name, v, rel.RequiresPython)
		}
		extras := append([]string{""}, n.req.Extras...)
		for _, e := range extras {
			key := name + "[" + e + "]"
			if seen[key] {
				continue
			}
			seen[key] = true
			for _, line := range rel.Requires {
				dep, _ := pep508.ParseRequirement(line)
				if dep.Marker != nil && !dep.Marker.Evaluate(env.WithExtra(e)) {
					continue
				}
				queue = append(queue, need{req: dep})
			}
		}
	}
	return nil
}

// TestResolutionsAgreeWithPip resolves generated scenarios that need
// backtracking with larder and with the real pip, against the same fake
// index. Both must pick the same versions or both fail; where several
// solutions exist and they pick different ones, both must be valid.
func TestResolutionsAgreeWithPip(t *testing.T) {
	testenv.Slow(t, "runs pip on every scenario")
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	n := 60
	tgt := mustTarget(t, "linux/amd64:3.11")
	out, err := exec.Command("python3", "-c", "import platform; print(platform.python_version())").Output()
	if err == nil {
		tgt.Python, _ = target.ParsePython(strings.TrimSpace(string(out)))
	}
	env := pep508.EnvironmentFor(tgt)
	type outcome struct {
		sc             scenario
		ours, pips     map[string]string
		ourErr, pipErr error
		pipOut         string
	}
	results := make([]outcome, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 3)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			sc := genScenario(uint64(i + 1))
			srv := pypitest.NewServer(sc.idx)
			defer srv.Close()
			o := outcome{sc: sc}
			c, err := index.New([]string{srv.URL()}, index.WithCacheDir(t.TempDir()), index.WithRetries(0, 0))
			if err != nil {
				o.ourErr = err
				results[i] = o
				return
			}
			res, err := Resolve(context.Background(), c, Request{Requirements: reqsNoT(sc.roots), Targets: []target.Target{tgt}})
			if err == nil {
				o.ours = map[string]string{}
				for _, p := range res.Packages {
					o.ours[p.Name] = p.Version.String()
				}
			}
			o.ourErr = err
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			o.pips, o.pipOut, o.pipErr = pipResolve(ctx, t.TempDir(), srv.URL(), sc.roots)
			results[i] = o
		}()
	}
	wg.Wait()
	same, bothFail, different := 0, 0, 0
	for _, o := range results {
		label := fmt.Sprintf("scenario %d %v", o.sc.seed, o.sc.roots)
		switch {
		case o.ourErr != nil && o.pipErr != nil:
			bothFail++
		case o.ourErr != nil:
			t.Errorf("%s: larder failed but pip found %v\nlarder: %v", label, o.pips, o.ourErr)
		case o.pipErr != nil:
			t.Errorf("%s: pip failed but larder found %v\npip: %s", label, o.ours, o.pipOut)
		case fmt.Sprint(o.ours) == fmt.Sprint(o.pips):
			same++
		default:
			different++
			if err := validSolution(o.sc, o.ours, env); err != nil {
				t.Errorf("%s: larder's %v is invalid: %v (pip chose %v)", label, o.ours, err, o.pips)
			}
			if err := validSolution(o.sc, o.pips, env); err != nil {
				t.Errorf("%s: pip's %v is invalid: %v", label, o.pips, err)
			}
		}
	}
	t.Logf("%d scenarios: %d identical, %d both without solution, %d different valid solutions", n, same, bothFail, different)
}

func reqsNoT(lines []string) []Requirement {
	var out []Requirement
	for i, l := range lines {
		r, err := pep508.ParseRequirement(l)
		if err != nil {
			panic(err)
		}
		out = append(out, Requirement{Requirement: r, Source: fmt.Sprintf("roots:%d", i+1)})
	}
	return out
}
