package resolver

import (
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
)

// TestPinnedInputsMissingOnlyUnsafePackagesResolveThemWithinConstraints
// is pip-compile output without --allow-unsafe: every version is pinned
// except pip, setuptools, distribute and wheel, which pip installs anyway.
// The lock resolves those (within the constraints) and marks them, and
// still refuses any other package the pins miss.
func TestPinnedInputsMissingOnlyUnsafePackagesResolveThemWithinConstraints(t *testing.T) {
	idx := &pypitest.Index{Projects: []pypitest.Project{
		{Name: "app", Releases: []pypitest.Release{pure("1.0", "setuptools>=40", "lib==2.0")}},
		{Name: "lib", Releases: []pypitest.Release{pure("2.0", "wheel", `pip ; python_version >= "3"`)}},
		{Name: "other", Releases: []pypitest.Release{pure("1.0", "helper")}},
		{Name: "helper", Releases: []pypitest.Release{pure("1.0")}},
		{Name: "setuptools", Releases: []pypitest.Release{pure("39.0"), pure("60.0"), pure("70.0")}},
		{Name: "wheel", Releases: []pypitest.Release{pure("0.45.1"), pure("0.46.0", "packaging>=24")}},
		{Name: "packaging", Releases: []pypitest.Release{pure("24.2")}},
		{Name: "pip", Releases: []pypitest.Release{pure("24.0"), pure("25.1")}},
	}}
	tests := []struct {
		name         string
		pins         []string
		cons         []string
		wantPins     string
		wantUnpinned string
		wantErr      string
	}{
		{
			name:         "the missing unsafe ones are resolved, newest within the constraints",
			pins:         []string{"app==1.0", "lib==2.0"},
			cons:         []string{"setuptools<70", "wheel<0.46"},
			wantPins:     "app==1.0 lib==2.0 pip==25.1 setuptools==60.0 wheel==0.45.1",
			wantUnpinned: "pip setuptools wheel",
		},
		{
			name:         "a pinned unsafe version that does not fit is a conflict, never replaced",
			pins:         []string{"app==1.0", "lib==2.0", "setuptools==39.0", "wheel==0.45.1", "pip==24.0"},
			wantErr:      "setuptools==39.0",
			wantUnpinned: "",
		},
		{
			name:         "pinned unsafe versions are kept and nothing is marked",
			pins:         []string{"app==1.0", "lib==2.0", "setuptools==60.0", "wheel==0.45.1", "pip==24.0"},
			wantPins:     "app==1.0 lib==2.0 pip==24.0 setuptools==60.0 wheel==0.45.1",
			wantUnpinned: "",
		},
		{
			name:    "a dependency of a resolved unsafe package that is not unsafe is still refused",
			pins:    []string{"app==1.0", "lib==2.0"},
			cons:    []string{"setuptools<70"},
			wantErr: "miss packaging==24.2, required through lib==2.0 -> wheel==0.46.0 -> packaging==24.2",
		},
		{
			name:    "any other missing package is still refused",
			pins:    []string{"other==1.0"},
			wantErr: "the inputs pin every version but miss helper==1.0, required through other==1.0 -> helper==1.0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := resolveWith(t, idx, Request{Requirements: reqs(t, tt.pins...), Constraints: reqs(t, tt.cons...), Verify: true})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q (pins %s)", err, tt.wantErr, pinsOrNone(res))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := pins(res, 0); got != tt.wantPins {
				t.Errorf("pins = %s, want %s", got, tt.wantPins)
			}
			var unpinned []string
			for _, p := range res.Packages {
				if p.Unpinned {
					unpinned = append(unpinned, p.Name)
				}
			}
			if got := strings.Join(unpinned, " "); got != tt.wantUnpinned {
				t.Errorf("unpinned = %q, want %q", got, tt.wantUnpinned)
			}
			for _, p := range res.Lock().Packages {
				if got := p.Tool.Larder.Unpinned; got != strings.Contains(" "+tt.wantUnpinned+" ", " "+p.Name+" ") {
					t.Errorf("lock marks %s unpinned = %v", p.Name, got)
				}
			}
		})
	}
}

func pinsOrNone(r *Result) string {
	if r == nil {
		return "none"
	}
	return pins(r, 0)
}
