package pylock

import (
	"reflect"
	"strings"
	"testing"
)

// TestChooseSettlesTheGroupMarkersOfARealPDMLock: PDM marks every package
// of its pylock.toml with the dependency groups that need it; an install
// takes the lock's default-groups unless told otherwise.
func TestChooseSettlesTheGroupMarkersOfARealPDMLock(t *testing.T) {
	l, err := Load("../../testdata/pylock/wild/pylock.pdm-groups.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name           string
		extras, groups []string
		// want maps each installed package to what is left of its marker.
		want    map[string]string
		wantErr string
	}{
		{
			name: "no group chosen installs the default groups",
			want: map[string]string{
				"exceptiongroup": `python_version < "3.11"`,
				"idna":           "",
				"tzdata":         `sys_platform == "win32"`,
			},
		},
		{
			name:   "a chosen group replaces the default ones",
			groups: []string{"test"},
			want: map[string]string{
				"pluggy":         "",
				"exceptiongroup": `python_version < "3.11"`,
			},
		},
		{
			name:   "group names are compared normalized",
			groups: []string{"Types"},
			want:   map[string]string{"urllib3": ""},
		},
		{name: "a group the lock does not have is refused", groups: []string{"docs"}, wantErr: `unknown dependency group "docs": the lock has default, lint, test, types`},
		{name: "an extra the lock does not have is refused", extras: []string{"s3"}, wantErr: `unknown extra "s3": the lock has none`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := l.Choose(tc.extras, tc.groups)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Choose = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, p := range l.Packages {
				rest, installed, err := c.Settle(p.Marker)
				if err != nil {
					t.Fatalf("%s: %v", p.Name, err)
				}
				if installed {
					got[p.Name] = rest
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("installed %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestChooseTakesDefaultGroupsTheLockDoesNotList: PEP 751 says the groups
// of default-groups SHOULD NOT be listed in dependency-groups (those are
// the groups a user names); an install with no group chosen takes them,
// and naming one is not refused either.
func TestChooseTakesDefaultGroupsTheLockDoesNotList(t *testing.T) {
	l := &Lock{
		DependencyGroups: []string{"dev"},
		DefaultGroups:    []string{"Default"},
		Packages: []Package{
			{Name: "idna", Marker: `"default" in dependency_groups`},
			{Name: "pytest", Marker: `"dev" in dependency_groups`},
		},
	}
	for _, tc := range []struct {
		name   string
		groups []string
		want   []string
	}{
		{name: "no group chosen installs the unlisted default group", want: []string{"idna"}},
		{name: "the default group may be named", groups: []string{"default", "dev"}, want: []string{"idna", "pytest"}},
		{name: "a listed group alone replaces the default", groups: []string{"dev"}, want: []string{"pytest"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := l.Choose(nil, tc.groups)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range l.Packages {
				if _, installed, err := c.Settle(p.Marker); err != nil {
					t.Fatal(err)
				} else if installed {
					got = append(got, p.Name)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("installed %q, want %q", got, tc.want)
			}
		})
	}
}
