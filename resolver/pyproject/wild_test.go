package pyproject

import (
	"errors"
	"strings"
	"testing"
)

// TestLoadReadsRealProjects loads pyproject.toml files from real projects
// (testdata/pyproject/wild, provenance in its README).
func TestLoadReadsRealProjects(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string
		// check looks at what was read.
		check func(t *testing.T, p *Project)
	}{
		{
			name: "a conflict may name an extra of dynamic optional-dependencies",
			file: "pydantic-ai/pyproject.toml",
			check: func(t *testing.T, p *Project) {
				if p.UV == nil || len(p.UV.Conflicts) != 2 || p.UV.Conflicts[1][0] != (ConflictItem{Package: "pydantic-ai", Extra: "mcp-tasks"}) {
					t.Errorf("conflicts = %+v", p.UV)
				}
				if len(p.DependencyGroups["dev"].Expanded) == 0 {
					t.Errorf("dev group = %+v", p.DependencyGroups["dev"])
				}
				// The dependencies themselves are the backend's to tell.
				_, err := p.Requirements(nil, nil)
				var dyn *DynamicError
				if !errors.As(err, &dyn) || !strings.Contains(err.Error(), "hatchling.build") {
					t.Errorf("Requirements = %v, want a DynamicError naming hatchling.build", err)
				}
			},
		},
		{
			name: "override-dependencies may mix requirements and overrides scoped to a package",
			file: "uv-scoped-overrides/pyproject.toml",
			check: func(t *testing.T, p *Project) {
				var global []string
				for _, r := range p.UV.OverrideDependencies {
					global = append(global, r.Raw)
				}
				if strings.Join(global, " ") != "idna==3.1 sniffio" {
					t.Errorf("override-dependencies = %q", global)
				}
				if len(p.UV.ScopedOverrides) != 1 {
					t.Fatalf("scoped overrides = %+v", p.UV.ScopedOverrides)
				}
				o := p.UV.ScopedOverrides[0]
				if o.Name != "anyio" || o.Version != "3.7.0" || len(o.Dependencies) != 1 || o.Dependencies[0].Raw != "idna==3.2" || o.Key != "tool.uv.override-dependencies[2]" {
					t.Errorf("scoped override = %+v", o)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Load("../../testdata/pyproject/wild/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, p)
		})
	}
}

// TestLoadRefusesWhatItCannotBuildNamingTheKey loads real project files
// (testdata/pyproject/wild) that uv reads and larder does not support: the
// error names the file, the line and the key, and says why.
func TestLoadRefusesWhatItCannotBuildNamingTheKey(t *testing.T) {
	for _, tc := range []struct{ name, file, want string }{
		{"a git source with a path, an archive inside the repository", "uv-git-archive/pyproject.toml",
			"uv-git-archive/pyproject.toml:12: tool.uv.sources.iniconfig: a source has one of git, path, url, index or workspace, not git and path; uv reads git with path as an archive inside the repository, which larder does not support yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("../../testdata/pyproject/wild/" + tc.file)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}
