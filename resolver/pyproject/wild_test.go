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
