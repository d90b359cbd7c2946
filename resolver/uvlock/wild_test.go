package uvlock

import (
	"slices"
	"strings"
	"testing"
)

// TestSelectTakesWhatUVSyncInstallsFromRealLocks runs Select on locks uv
// wrote (testdata/uvlock/wild, provenance in its README): the names each
// choice reaches are what uv sync installs for it, markers left for the
// target.
func TestSelectTakesWhatUVSyncInstallsFromRealLocks(t *testing.T) {
	for _, tc := range []struct {
		name         string
		file         string
		groups       []string
		wantGroups   []string
		wantRoots    []string
		wantPackages []string
	}{
		{
			name:         "a lock from before revision reads as revision 0 and selects its project's dependencies",
			file:         "built-by-uv-no-revision.uv.lock",
			wantGroups:   []string{"dev"},
			wantRoots:    []string{"anyio"},
			wantPackages: []string{"anyio", "idna", "sniffio"},
		},
		{
			name:         "a group of that lock adds its closure",
			file:         "built-by-uv-no-revision.uv.lock",
			groups:       []string{"dev"},
			wantGroups:   []string{"dev"},
			wantRoots:    []string{"anyio", "pytest"},
			wantPackages: []string{"anyio", "colorama", "idna", "iniconfig", "packaging", "pluggy", "pytest", "sniffio"},
		},
		{
			name:       "a non-project workspace root's groups are choices, installing nothing unless chosen",
			file:       "non-project-root-groups.uv.lock",
			wantGroups: []string{"dev"},
		},
		{
			name:         "a non-project workspace root's chosen group comes from [manifest.dependency-groups]",
			file:         "non-project-root-groups.uv.lock",
			groups:       []string{"dev"},
			wantGroups:   []string{"dev"},
			wantRoots:    []string{"iniconfig"},
			wantPackages: []string{"iniconfig"},
		},
		{
			name:         "a script's lock installs its [manifest] requirements",
			file:         "script.py.lock",
			wantRoots:    []string{"anyio"},
			wantPackages: []string{"anyio", "idna", "sniffio"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Load("../../testdata/uvlock/wild/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if _, groups := l.Choices(); !slices.Equal(groups, tc.wantGroups) {
				t.Errorf("groups = %q, want %q", groups, tc.wantGroups)
			}
			sel, err := l.Select(nil, tc.groups)
			if err != nil {
				t.Fatal(err)
			}
			var roots, packages []string
			for _, r := range sel.Roots {
				roots = append(roots, r.Package.Name)
			}
			for _, p := range sel.Packages {
				packages = append(packages, p.Package.Name)
			}
			if !slices.Equal(roots, tc.wantRoots) || !slices.Equal(packages, tc.wantPackages) {
				t.Errorf("roots %q, packages %q\nwant roots %q, packages %q", roots, packages, tc.wantRoots, tc.wantPackages)
			}
		})
	}
}

// TestSelectRefusesALockWithNothingToInstallFrom keeps the error for a
// lock with no member and no [manifest] requirements: nothing says what
// to install.
func TestSelectRefusesALockWithNothingToInstallFrom(t *testing.T) {
	l, err := Decode(strings.NewReader("version = 1\n\n[[package]]\nname = \"idna\"\nversion = \"3.6\"\nsource = { registry = \"https://pypi.org/simple\" }\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Select(nil, nil); err == nil || !strings.Contains(err.Error(), "no workspace member") {
		t.Errorf("Select = %v, want an error saying there is no workspace member", err)
	}
}
