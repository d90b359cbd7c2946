package pyproject

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/tomldoctest"
)

const edxPlatform = "../../testdata/pyproject/edx-platform/pyproject.toml"

func TestLoadReadsTheRealEdxPlatformProject(t *testing.T) {
	p, err := Load(edxPlatform)
	if err != nil {
		t.Fatal(err)
	}
	if !p.HasProject || p.Name != "openedx-platform" || p.Version != "0.13" || p.RequiresPython != ">=3.12" {
		t.Errorf("project = %q %q %q", p.Name, p.Version, p.RequiresPython)
	}
	if len(p.Dependencies) != 135 {
		t.Errorf("got %d dependencies, want 135", len(p.Dependencies))
	}
	django := p.Dependencies[12]
	if django.Raw != "Django" || django.NormalizedName() != "django" || django.Key != "project.dependencies[12]" || django.Line != 22 {
		t.Errorf("dependencies[12] = %q %q %q line %d", django.Raw, django.NormalizedName(), django.Key, django.Line)
	}
	for _, d := range p.Dependencies {
		switch d.Raw {
		case "python3-openid ; python_version>='3'":
			if d.Marker == nil || d.Line != 117 {
				t.Errorf("python3-openid: marker %v, line %d", d.Marker, d.Line)
			}
		case "lxml[html_clean]":
			if !reflect.DeepEqual(d.Extras, []string{"html-clean"}) {
				t.Errorf("lxml extras = %q", d.Extras)
			}
		}
	}
	if len(p.OptionalDependencies) != 0 {
		t.Errorf("optional dependencies = %v", p.OptionalDependencies)
	}

	wantGroups := map[string]struct {
		includes      []string
		own, expanded int
	}{
		"coverage":    {nil, 2, 2},
		"bundled":     {nil, 15, 15},
		"testing":     {[]string{"coverage", "bundled"}, 28, 45},
		"docs":        {[]string{"bundled"}, 9, 24},
		"assets":      {nil, 3, 3},
		"development": {[]string{"testing", "docs", "assets"}, 8, 80},
		"django42":    {[]string{"testing"}, 1, 46},
		"django52":    {[]string{"testing"}, 1, 46},
		"ci":          {nil, 2, 2},
	}
	if len(p.DependencyGroups) != len(wantGroups) {
		t.Errorf("got %d groups, want %d", len(p.DependencyGroups), len(wantGroups))
	}
	for name, want := range wantGroups {
		g := p.DependencyGroups[name]
		if !reflect.DeepEqual(g.Includes, want.includes) || len(g.Requirements) != want.own || len(g.Expanded) != want.expanded {
			t.Errorf("group %s: includes %q, %d own, %d expanded; want %q, %d, %d",
				name, g.Includes, len(g.Requirements), len(g.Expanded), want.includes, want.own, want.expanded)
		}
	}
	// Includes expand in place: testing starts with coverage's, then bundled's.
	testing := p.DependencyGroups["testing"]
	if testing.Expanded[0].Raw != "coverage" || testing.Expanded[2].Raw != "edx-i18n-tools>=0.4.6" || testing.Expanded[17].Raw != "beautifulsoup4" {
		t.Errorf("testing expanded starts %q %q %q", testing.Expanded[0].Raw, testing.Expanded[2].Raw, testing.Expanded[17].Raw)
	}
	if got := testing.Expanded[2].Key; got != "dependency-groups.bundled[0]" {
		t.Errorf("an included requirement keeps its own key, got %q", got)
	}

	if bs := p.BuildSystem; bs == nil || bs.BuildBackend != "setuptools.build_meta" || len(bs.Requires) != 1 || bs.Requires[0].Raw != "setuptools>=61.0" {
		t.Errorf("build-system = %+v", p.BuildSystem)
	}

	uv := p.UV
	if uv == nil {
		t.Fatal("no [tool.uv]")
	}
	wantSource := []Source{{Git: "https://github.com/openedx/xblocks-core", Branch: "kdmccormick/xblocks-core"}}
	if !reflect.DeepEqual(uv.Sources["xblocks-core"], wantSource) || uv.Sources["xblocks-core"][0].Kind() != "git" {
		t.Errorf("xblocks-core source = %+v", uv.Sources["xblocks-core"])
	}
	if len(uv.ConstraintDependencies) != 21 || uv.ConstraintDependencies[0].Raw != "Django<6.0" {
		t.Errorf("%d constraints, first %q", len(uv.ConstraintDependencies), uv.ConstraintDependencies[0].Raw)
	}
	if uv.DefaultGroups == nil || len(uv.DefaultGroups) != 0 || uv.DefaultGroupsAll {
		t.Errorf("default-groups = %#v, all %v; want explicit empty", uv.DefaultGroups, uv.DefaultGroupsAll)
	}
	wantConflicts := [][]ConflictItem{{{Group: "django42"}, {Group: "django52"}}}
	if !reflect.DeepEqual(uv.Conflicts, wantConflicts) {
		t.Errorf("conflicts = %+v", uv.Conflicts)
	}
}

func TestRequirementsCombineDependenciesExtrasAndGroupsOnce(t *testing.T) {
	p, err := Load(edxPlatform)
	if err != nil {
		t.Fatal(err)
	}
	base, err := p.Requirements(nil, nil)
	if err != nil || len(base) != 135 {
		t.Fatalf("Requirements() = %d, %v; want 135", len(base), err)
	}
	// development = 135 dependencies + 80 expanded, less bundled reached
	// twice (15), code-annotations twice and nodeenv also a dependency.
	dev, err := p.Requirements(nil, []string{"Development"})
	if err != nil || len(dev) != 198 {
		t.Fatalf("Requirements(development) = %d, %v; want 198", len(dev), err)
	}
	names := map[string]bool{}
	for _, r := range dev {
		names[r.NormalizedName()] = true
	}
	for _, want := range []string{"django", "pytest", "edx-sga", "sphinx", "libsass", "mypy"} {
		if !names[want] {
			t.Errorf("development lacks %s", want)
		}
	}
	if _, err := p.Requirements(nil, []string{"nope"}); err == nil || !strings.Contains(err.Error(), `unknown dependency group "nope": known are assets, bundled, ci,`) {
		t.Errorf("unknown group error = %v", err)
	}
	if _, err := p.Requirements([]string{"postgres"}, nil); err == nil || !strings.Contains(err.Error(), `unknown extra "postgres": the project defines none`) {
		t.Errorf("unknown extra error = %v", err)
	}
}

const small = `[project]
name = "demo"
version = "1.0"
dependencies = ["requests>=2"]

[project.optional-dependencies]
pg = ["psycopg2-binary"]
Redis_Cache = ["redis>=5"]
all = ["demo[pg,redis-cache]", "demo[pg]"]

[dependency-groups]
test = ["pytest>=8", {include-group = "Lint"}]
lint = ["ruff"]

[tool.uv]
dev-dependencies = ["ipython"]
`

func TestRequirementsExpandSelfReferencingExtrasAndUVDevDependencies(t *testing.T) {
	p := mustParse(t, small)
	reqs, err := p.Requirements([]string{"all"}, []string{"test", "dev"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range reqs {
		got = append(got, r.Raw)
	}
	want := []string{"requests>=2", "psycopg2-binary", "redis>=5", "pytest>=8", "ruff", "ipython"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("requirements = %q, want %q", got, want)
	}
	if _, ok := p.OptionalDependencies["redis-cache"]; !ok {
		t.Errorf("extras are not normalized: %v", p.OptionalDependencies)
	}
}

func TestRequirementsRefuseWhatOnlyTheBuildBackendKnows(t *testing.T) {
	tests := []struct {
		name, doc string
		extras    []string
		want      string
	}{
		{"dynamic dependencies", "[project]\nname = \"x\"\ndynamic = [\"version\", \"dependencies\"]\n", nil,
			"pyproject.toml: project.dynamic: project.dependencies is dynamic and not a setuptools file reference: only the build backend knows it"},
		{"dynamic extras asked for", "[project]\nname = \"x\"\ndynamic = [\"optional-dependencies\"]\n", []string{"pg"},
			"pyproject.toml: project.dynamic: project.optional-dependencies is dynamic and not a setuptools file reference"},
		{"dynamic extra not among setuptools' files", "[project]\nname = \"x\"\ndynamic = [\"optional-dependencies\"]\n[tool.setuptools.dynamic]\noptional-dependencies.testing = {file = [\"t.txt\"]}\n", []string{"doc"},
			`pyproject.toml: tool.setuptools.dynamic.optional-dependencies: unknown extra "doc": known are testing`},
		{"file reference out of the project", "[project]\nname = \"x\"\ndynamic = [\"dependencies\"]\n[tool.setuptools.dynamic]\ndependencies = {file = [\"../../etc/passwd\"]}\n", nil,
			`pyproject.toml:5: tool.setuptools.dynamic.dependencies.file[0]: file "../../etc/passwd": want a path inside the project folder`},
		{"self reference under a marker", "[project]\nname = \"x\"\n[project.optional-dependencies]\na = [\"six\"]\nall = [\"x[a]; python_version >= '3.12'\"]\n",
			[]string{"all"}, `pyproject.toml:5: project.optional-dependencies.all[0]: "x[a]; python_version >= '3.12'": a requirement on the project itself with a marker is not supported`},
		{"self reference to an unknown extra", "[project]\nname = \"x\"\n[project.optional-dependencies]\nall = [\"x[nope]\"]\n",
			[]string{"all"}, `pyproject.toml:4: project.optional-dependencies.all[0]: unknown extra "nope": known are all`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parse("pyproject.toml", []byte(tt.doc))
			if err == nil {
				_, err = p.Requirements(tt.extras, nil)
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %v, want %s...", err, tt.want)
			}
		})
	}
	// Only the extras' list is unknown: the dependencies still are.
	p := mustParse(t, "[project]\nname = \"x\"\ndependencies = [\"six\"]\ndynamic = [\"optional-dependencies\"]\n")
	if reqs, err := p.Requirements(nil, nil); err != nil || len(reqs) != 1 {
		t.Errorf("Requirements() = %v, %v", reqs, err)
	}
}

func mustParse(t *testing.T, doc string) *Project {
	t.Helper()
	p, err := parse("pyproject.toml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadErrorsNameFileLineAndKey(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"bad requirement in a group", "[dependency-groups]\ntesting = [\n  \"ddt\",\n  \"pytest >= \",\n]\n",
			`pyproject.toml:4: dependency-groups.testing[1]: parsing "pytest >= ": expected version after ">="`},
		{"bad dependency", "[project]\nname = \"x\"\ndependencies = [\"a\", \"b c\"]\n",
			`pyproject.toml:3: project.dependencies[1]: parsing "b c": `},
		{"requirement not a string", "[project]\nname = \"x\"\ndependencies = [\"a\", 3]\n",
			`pyproject.toml:3: project.dependencies[1]: expected a requirement string, got integer 3`},
		{"dependencies not an array", "[project]\nname = \"x\"\ndependencies = \"django\"\n",
			`pyproject.toml:3: project.dependencies: expected an array of requirement strings, got string "django"`},
		{"unknown include", "[dependency-groups]\na = [{include-group = \"b\"}]\nb = [\n  {include-group = \"nope\"},\n]\n",
			`pyproject.toml:4: dependency-groups.b[0].include-group: include of unknown dependency group "nope" (a -> b -> nope)`},
		{"include cycle", "[dependency-groups]\na = [{include-group = \"B\"}]\nb = [\"x\", {include-group = \"c\"}]\nc = [{include-group = \"a\"}]\n",
			`pyproject.toml:4: dependency-groups.c[0].include-group: dependency groups include each other in a cycle: a -> b -> c -> a`},
		{"group includes itself", "[dependency-groups]\nself = [{include-group = \"self\"}]\n",
			`pyproject.toml:2: dependency-groups.self[0].include-group: dependency groups include each other in a cycle: self -> self`},
		{"include table with more keys", "[dependency-groups]\na = [{include-group = \"b\", extra = 1}]\nb = []\n",
			`pyproject.toml:2: dependency-groups.a[0]: expected {include-group = "NAME"}, got {extra = 1, include-group = b}`},
		{"group names equal once normalized", "[dependency-groups]\nTest_Group = []\ntest-group = []\n",
			`pyproject.toml:3: dependency-groups.test-group: dependency group "test-group" is the same name as "Test_Group" once normalized`},
		{"invalid group name", "[dependency-groups]\n\"bad!\" = []\n",
			`pyproject.toml:2: dependency-groups."bad!": invalid dependency group name "bad!"`},
		{"missing name", "[project]\nversion = \"1\"\n",
			`pyproject.toml:1: project.name: missing required key`},
		{"static and dynamic version", "[project]\nname = \"x\"\nversion = \"1\"\ndynamic = [\"version\"]\n",
			`pyproject.toml:3: project.version: "version" is both given and listed in dynamic (PEP 621)`},
		{"invalid version", "[project]\nname = \"x\"\nversion = \"1.0-final-final\"\n",
			`pyproject.toml:3: project.version: parsing version "1.0-final-final": `},
		{"invalid requires-python", "[project]\nname = \"x\"\nrequires-python = \"3.12\"\n",
			`pyproject.toml:3: project.requires-python: parsing specifier "3.12": `},
		{"bad build requirement", "[build-system]\nrequires = [\"setuptools>=>61\"]\n",
			`pyproject.toml:2: build-system.requires[0]: parsing "setuptools>=>61": `},
		{"bad constraint", "[tool.uv]\nconstraint-dependencies = [\n  \"Django<6.0\",\n  \"celery>=5.2.2,!=\",\n]\n",
			`pyproject.toml:4: tool.uv.constraint-dependencies[1]: parsing "celery>=5.2.2,!=": `},
		{"source with two kinds", "[tool.uv.sources]\nfoo = { git = \"https://example.org/foo\", path = \"../foo\" }\n",
			`pyproject.toml:2: tool.uv.sources.foo: a source has one of git, path, url, index or workspace, not git and path`},
		{"branch without git", "[tool.uv.sources]\nfoo = { path = \"../foo\", branch = \"main\" }\n",
			`pyproject.toml:2: tool.uv.sources.foo.branch: branch applies to git sources only`},
		{"misspelled source key", "[tool.uv.sources.foo]\ngit = \"https://example.org/foo\"\nbrnach = \"main\"\n",
			`pyproject.toml:3: tool.uv.sources.foo.brnach: unknown source key "brnach"`},
		{"two git refs", "[tool.uv.sources]\nfoo = { git = \"https://example.org/foo\", tag = \"v1\", rev = \"abc\" }\n",
			`pyproject.toml:2: tool.uv.sources.foo: a git source has one of branch, tag or rev, not tag and rev`},
		{"bad source marker", "[tool.uv.sources]\nfoo = [\n  { index = \"a\", marker = \"sys_platform == 'linux'\" },\n  { index = \"b\", marker = \"sys_platform = 'darwin'\" },\n]\n",
			`pyproject.toml:4: tool.uv.sources.foo[1].marker: parsing "sys_platform = 'darwin'": `},
		{"conflict with an undefined group", "[dependency-groups]\na = []\n[tool.uv]\nconflicts = [\n  [{ group = \"a\" }, { group = \"b\" }],\n]\n",
			`pyproject.toml:5: tool.uv.conflicts[0][1]: conflict names undefined dependency group "b"`},
		{"conflict set of one", "[dependency-groups]\na = []\n[tool.uv]\nconflicts = [[{ group = \"a\" }]]\n",
			`pyproject.toml:4: tool.uv.conflicts[0]: a conflict set needs at least two items`},
		{"undefined default group", "[tool.uv]\ndefault-groups = [\"dev\"]\n",
			`pyproject.toml:2: tool.uv.default-groups[0]: default group "dev" is not defined`},
		{"toml syntax", "[project]\nname = \"x\"\ndependencies = [\"a\",\n",
			`pyproject.toml:3: `},
		{"wrong type for name", "[project]\nname = 3\n",
			`pyproject.toml:2: project.name: expected a string, got integer 3`},
		{"an exclusion that is a requirement, not a name", "[tool.uv]\nexclude-dependencies = [\n  \"torch>=2\",\n]\n",
			`pyproject.toml:3: tool.uv.exclude-dependencies[0]: invalid project name "torch>=2"`},
		{"exclusions not an array", "[tool.uv]\nexclude-dependencies = \"torch\"\n",
			`pyproject.toml:2: tool.uv.exclude-dependencies: expected an array of project names or scoped exclusions, got string "torch"`},
		{"a scoped exclusion without dependencies", "[tool.uv]\nexclude-dependencies = [{ package = { name = \"app\" } }]\n",
			`pyproject.toml:2: tool.uv.exclude-dependencies[0].dependencies: missing required key`},
		{"a scoped exclusion with a misspelled key", "[tool.uv]\nexclude-dependencies = [{ package = { name = \"app\" }, dependencies = [], depends = [\"x\"] }]\n",
			`pyproject.toml:2: tool.uv.exclude-dependencies[0].depends: unknown key: a scoped exclusion has package and dependencies`},
		{"a scoped exclusion at a version that is none", "[tool.uv]\nexclude-dependencies = [{ package = { name = \"app\", version = \"one\" }, dependencies = [\"x\"] }]\n",
			`pyproject.toml:2: tool.uv.exclude-dependencies[0].package.version: parsing version "one"`},
		{"dependency metadata with a bad requirement", "[[tool.uv.dependency-metadata]]\nname = \"app\"\nrequires-dist = [\"lib >=\"]\n",
			`pyproject.toml:3: tool.uv.dependency-metadata[0].requires-dist[0]: parsing "lib >=": `},
		{"dependency metadata with a misspelled key", "[[tool.uv.dependency-metadata]]\nname = \"app\"\nrequires_dist = []\n",
			`pyproject.toml:3: tool.uv.dependency-metadata[0].requires_dist: unknown key: dependency metadata has name, version, requires-dist, requires-python and provides-extra`},
		{"dependency metadata without a name", "[[tool.uv.dependency-metadata]]\nversion = \"1\"\n",
			`pyproject.toml:1: tool.uv.dependency-metadata[0].name: missing required key`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tomldoctest.Write(t, "pyproject.toml", tt.doc)
			_, err := Load(path)
			tomldoctest.WantError(t, err, path, tt.want)
		})
	}
}

func TestLoadAcceptsSourceKindsAndWorkspaceRoots(t *testing.T) {
	p := mustParse(t, `[tool.uv]
default-groups = "all"

[tool.uv.sources]
a = { git = "https://example.org/a", tag = "v1.0", subdirectory = "py" }
b = { path = "../b", editable = true }
c = { url = "https://example.org/c-1.0.tar.gz" }
d = { index = "internal" }
e = { workspace = true }
f = [
    { index = "cpu", marker = "sys_platform != 'darwin'" },
    { index = "mac", marker = "sys_platform == 'darwin'" },
]

[[tool.uv.index]]
name = "internal"
url = "https://pypi.internal.example/simple"
explicit = true
`)
	if p.HasProject || !p.UV.DefaultGroupsAll {
		t.Errorf("HasProject %v, DefaultGroupsAll %v", p.HasProject, p.UV.DefaultGroupsAll)
	}
	kinds := map[string]string{"a": "git", "b": "path", "c": "url", "d": "index", "e": "workspace", "f": "index"}
	for name, kind := range kinds {
		if s := p.UV.Sources[name]; len(s) == 0 || s[0].Kind() != kind {
			t.Errorf("source %s = %+v, want kind %s", name, s, kind)
		}
	}
	if s := p.UV.Sources["a"][0]; s.Tag != "v1.0" || s.Subdirectory != "py" {
		t.Errorf("git source = %+v", s)
	}
	if !p.UV.Sources["b"][0].Editable || len(p.UV.Sources["f"]) != 2 || p.UV.Sources["f"][1].Marker != "sys_platform == 'darwin'" {
		t.Errorf("sources = %+v", p.UV.Sources)
	}
	if len(p.UV.Indexes) != 1 || !p.UV.Indexes[0].Explicit || p.UV.Indexes[0].Name != "internal" {
		t.Errorf("indexes = %+v", p.UV.Indexes)
	}
}

func TestDependencyGroupsMayBeWrittenAsArraysOfTables(t *testing.T) {
	p := mustParse(t, "[dependency-groups]\nlint = [\"ruff\"]\n\n[[dependency-groups.test]]\ninclude-group = \"lint\"\n")
	if g := p.DependencyGroups["test"]; !reflect.DeepEqual(g.Includes, []string{"lint"}) || len(g.Expanded) != 1 || g.Expanded[0].Raw != "ruff" {
		t.Errorf("test group = %+v", g)
	}
}

func TestLoadReportsSeveralProblemsAtOnce(t *testing.T) {
	_, err := parse("pyproject.toml", []byte("[project]\nname = \"x\"\ndependencies = [\"a >\", \"b <\"]\n"))
	if err == nil || !strings.Contains(err.Error(), "dependencies[0]") || !strings.Contains(err.Error(), "dependencies[1]") {
		t.Errorf("error = %v, want both requirements named", err)
	}
}

func FuzzLoadPyproject(f *testing.F) {
	real, err := os.ReadFile(edxPlatform)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(real)
	f.Add([]byte(small))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parse("pyproject.toml", data)
		if err != nil {
			return
		}
		var groups []string
		for name := range p.DependencyGroups {
			groups = append(groups, name)
		}
		_, _ = p.Requirements(sortedKeys(p.OptionalDependencies), groups)
	})
}

func BenchmarkLoadEdxPlatform(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(edxPlatform); err != nil {
			b.Fatal(err)
		}
	}
}
