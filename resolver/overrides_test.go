package resolver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/target"
)

// overrideIndex: app 1.0 and other 1.0 cap lib below 2, and app under
// its extra "fast" wants speedups below 2; 2.0 is what the overrides ask
// for.
func overrideIndex() *pypitest.Index {
	app := pure("1.0", "lib<2", "speedups<2 ; extra == 'fast'")
	app.Extras = []string{"fast"}
	return &pypitest.Index{Projects: []pypitest.Project{
		{Name: "app", Releases: []pypitest.Release{app}},
		{Name: "lib", Releases: []pypitest.Release{pure("1.0"), pure("2.0")}},
		{Name: "speedups", Releases: []pypitest.Release{pure("1.0"), pure("2.0")}},
		{Name: "other", Releases: []pypitest.Release{pure("1.0", "lib<2")}},
	}}
}

// lockMe locks the pyproject.toml of a project "me" whose dependencies
// are deps (TOML strings) and whose tables after [project] are tables.
func lockMe(t *testing.T, srv *pypitest.Server, deps, tables string) (string, error) {
	t.Helper()
	return lockOneFile(t, srv, "pyproject.toml", "[project]\nname = \"me\"\nversion = \"0\"\ndependencies = ["+deps+"]\n"+tables+"\n")
}

// lockOneFile locks one input file written into a fresh folder.
func lockOneFile(t *testing.T, srv *pypitest.Server, name, text string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	req := LockRequest{Requirements: []string{p}, IndexURLs: []string{srv.URL()},
		Targets: []target.Target{mustTarget(t, "linux/amd64:3.11:glibc2.36")}}
	c, err := req.NewIndex(index.WithCacheDir(t.TempDir()), index.WithRetries(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	locked, err := Lock(context.Background(), req, WithIndex(c))
	if err != nil {
		return "", err
	}
	return pins(locked.Result, 0), nil
}

func TestOverrideDependenciesReplaceEveryRequirementOnTheirProject(t *testing.T) {
	srv := pypitest.Start(t, overrideIndex())
	tests := []struct {
		name, deps, uv, want string
	}{
		{"no override: the cap holds", `"app"`, "", "app==1.0 lib==1.0"},
		{"an override lifts the cap", `"app"`, `override-dependencies = ["lib>=2"]`, "app==1.0 lib==2.0"},
		{"it replaces the project's own requirement too", `"app", "lib<1.5"`, `override-dependencies = ["lib>=2"]`, "app==1.0 lib==2.0"},
		{"it replaces the marker of the project's own requirement with its own", `"lib<1.5 ; sys_platform == 'win32'"`,
			`override-dependencies = ["lib>=2"]`, "lib==2.0"},
		{"an override whose marker does not hold drops the requirement", `"app"`,
			`override-dependencies = ["lib>=2 ; sys_platform == 'win32'"]`, "app==1.0"},
		{"an optional dependency's override stays optional", `"app"`, `override-dependencies = ["speedups>=2"]`, "app==1.0 lib==1.0"},
		{"and applies under its extra", `"app[fast]"`, `override-dependencies = ["speedups>=2"]`, "app==1.0 lib==1.0 speedups==2.0"},
		{"a global override replaces every dependent's requirement", `"app", "other"`,
			`override-dependencies = ["lib>=2"]`, "app==1.0 lib==2.0 other==1.0"},
		{"one scoped to a dependent leaves the others' requirements", `"app", "other"`,
			`override-dependencies = [{ package = { name = "app" }, dependencies = ["lib>=2"] }]`, ""},
		{"scoped to another version of it", `"app"`,
			`override-dependencies = [{ package = { name = "app", version = "0.9" }, dependencies = ["lib>=2"] }]`, "app==1.0 lib==1.0"},
		{"scoped to its version", `"app"`,
			`override-dependencies = [{ package = { name = "app", version = "1.0" }, dependencies = ["lib>=2"] }]`, "app==1.0 lib==2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lockMe(t, srv, tt.deps, "[tool.uv]\n"+tt.uv)
			if tt.want == "" {
				// other's cap stands against app's lib>=2.
				if err == nil || !strings.Contains(err.Error(), "lib") {
					t.Errorf("locked %q (%v), want no solution", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("locked %q (%v), want %q", got, err, tt.want)
			}
		})
	}
}

func TestExcludeDependenciesLeaveTheirProjectsOut(t *testing.T) {
	srv := pypitest.Start(t, overrideIndex())
	tests := []struct {
		name, deps, uv, want string
	}{
		{"no exclusion: app brings lib", `"app"`, "", "app==1.0 lib==1.0"},
		{"an excluded dependency is left out", `"app"`, `exclude-dependencies = ["lib"]`, "app==1.0"},
		{"whatever its spelling", `"app"`, `exclude-dependencies = ["LIB"]`, "app==1.0"},
		{"so is the project's own requirement on it", `"app", "lib"`, `exclude-dependencies = ["lib"]`, "app==1.0"},
		{"and every dependent's", `"app", "other"`, `exclude-dependencies = ["lib"]`, "app==1.0 other==1.0"},
		{"an excluded project brings nothing", `"app[fast]"`, `exclude-dependencies = ["app"]`, "none"},
		{"an exclusion beats an override", `"app"`, "override-dependencies = [\"lib>=2\"]\nexclude-dependencies = [\"lib\"]", "app==1.0"},
		{"one scoped to a dependent leaves the others' requirements", `"app", "other"`,
			`exclude-dependencies = [{ package = { name = "app" }, dependencies = ["lib"] }]`, "app==1.0 lib==1.0 other==1.0"},
		{"scoped to that dependent alone", `"app"`,
			`exclude-dependencies = [{ package = { name = "app" }, dependencies = ["lib"] }]`, "app==1.0"},
		{"scoped to another version of it", `"app"`,
			`exclude-dependencies = [{ package = { name = "app", version = "0.9" }, dependencies = ["lib"] }]`, "app==1.0 lib==1.0"},
		{"scoped to its version", `"app"`,
			`exclude-dependencies = [{ package = { name = "app", version = "1.0" }, dependencies = ["lib"] }]`, "app==1.0"},
		{"one at its version stands for the one at every version", `"app"`,
			`exclude-dependencies = [{ package = { name = "app" }, dependencies = ["lib"] }, { package = { name = "app", version = "1.0" }, dependencies = ["speedups"] }]`,
			"app==1.0 lib==1.0"},
		{"a git requirement excluded is never cloned", `"app", "fork"`,
			"exclude-dependencies = [\"fork\"]\n[tool.uv.sources]\nfork = { git = \"https://127.0.0.1:9/nowhere/fork.git\" }", "app==1.0 lib==1.0"},
		{"a direct URL requirement excluded is never fetched", `"app", "tree @ https://127.0.0.1:9/tree-1.0.tar.gz"`,
			`exclude-dependencies = ["tree"]`, "app==1.0 lib==1.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lockMe(t, srv, tt.deps, "[tool.uv]\n"+tt.uv)
			if got == "" {
				got = "none"
			}
			if err != nil || got != tt.want {
				t.Errorf("locked %q (%v), want %q", got, err, tt.want)
			}
		})
	}
}

// TestAnExcludedRequirementsPageIsNeverAskedFor: a project the inputs
// name but exclude costs the index nothing, not even a warm-up, and its
// absence from the index fails nothing.
func TestAnExcludedRequirementsPageIsNeverAskedFor(t *testing.T) {
	srv := pypitest.Start(t, overrideIndex())
	text := "[project]\nname = \"me\"\nversion = \"0\"\ndependencies = [\"app\", \"internal-only\"]\n[tool.uv]\nexclude-dependencies = [\"internal-only\"]\n"
	if got, err := lockOneFile(t, srv, "pyproject.toml", text); err != nil || got != "app==1.0 lib==1.0" {
		t.Errorf("locked %q (%v), want app==1.0 lib==1.0", got, err)
	}
	if n := srv.Requests("/simple/internal-only/"); n != 0 {
		t.Errorf("the index was asked %d times for the excluded project's page, want 0", n)
	}
}

func TestAUVLockMadeUnderExclusionsLocksAgainUnderThem(t *testing.T) {
	srv := pypitest.Start(t, overrideIndex())
	// What uv writes for a project depending on app with lib excluded:
	// the manifest records the exclusion, and app has no edge to lib.
	for _, excludes := range []string{`["lib"]`, `[{ package = { name = "app", version = "1.0" }, dependencies = ["lib"] }]`} {
		text := appLock("excludes = "+excludes, false)
		if got, err := lockOneFile(t, srv, "uv.lock", text); err != nil || got != "app==1.0" {
			t.Errorf("excludes = %s: locked %q (%v), want app==1.0, as uv sync installs", excludes, got, err)
		}
	}
}

// appLock is a uv.lock of a project "me" that depends on app 1.0, with
// manifest as its [manifest] table, and with app's edge to lib 2.0 when
// withLib.
func appLock(manifest string, withLib bool) string {
	const lock = `version = 1
revision = 3
requires-python = ">=3.11"

[manifest]
%[1]s

[[package]]
name = "app"
version = "1.0"
source = { registry = "https://pypi.org/simple" }
%[2]s
wheels = [{ url = "https://example.invalid/app-1.0-py3-none-any.whl", hash = "sha256:%[3]s" }]
%[4]s
[[package]]
name = "me"
version = "0"
source = { virtual = "." }
dependencies = [{ name = "app" }]

[package.metadata]
requires-dist = [{ name = "app" }]
`
	edges, pkg := "", ""
	if withLib {
		edges = `dependencies = [{ name = "lib" }]`
		pkg = `
[[package]]
name = "lib"
version = "2.0"
source = { registry = "https://pypi.org/simple" }
wheels = [{ url = "https://example.invalid/lib-2.0-py3-none-any.whl", hash = "sha256:` + strings.Repeat("0", 64) + `" }]
`
	}
	return fmt.Sprintf(lock, manifest, edges, strings.Repeat("0", 64), pkg)
}

func TestAUVLockMadeUnderOverridesLocksAgainUnderThem(t *testing.T) {
	srv := pypitest.Start(t, overrideIndex())
	text := appLock(`overrides = [{ name = "lib", specifier = ">=2" }]`, true)
	got, err := lockOneFile(t, srv, "uv.lock", text)
	if err != nil || got != "app==1.0 lib==2.0" {
		t.Errorf("locked %q (%v), want app==1.0 lib==2.0", got, err)
	}
	// Without its overrides the same pins cannot stand: lib 2.0 breaks
	// app's cap.
	if _, err := lockOneFile(t, srv, "uv.lock", appLock("", true)); err == nil {
		t.Error("the pins locked without the overrides they were chosen under")
	}
}

// TestARequirementNoOverrideNamesCostsNothing: the resolver asks for
// every Requires-Dist line of every version it examines whether an
// override stands for it; with none for that project, or none at all,
// the answer allocates nothing (with none at all, not even for a name
// that normalizing would copy).
func TestARequirementNoOverrideNamesCostsNothing(t *testing.T) {
	some, err := newOverrides([]Override{{Requirement: reqs(t, "other>=2")[0]}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		os   *overrides
		req  string
	}{
		{"no overrides", nil, "lib<2"},
		{"no overrides, unnormalized name", nil, "Lib_X<2"},
		{"none for the project", some, "lib<2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := reqs(t, tc.req)[0].Requirement
			if n := testing.AllocsPerRun(100, func() {
				if _, ok := tc.os.replace(r, "app", nil); ok {
					t.Fatal("an override stood for " + tc.req)
				}
			}); n != 0 {
				t.Errorf("%v allocations a requirement", n)
			}
		})
	}
}
