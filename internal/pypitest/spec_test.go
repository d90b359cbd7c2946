package pypitest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadReadsTOMLAndJSONSpecs(t *testing.T) {
	idx := loadTree(t)
	if len(idx.Projects) != 6 {
		t.Fatalf("tree.toml: %d projects, want 6", len(idx.Projects))
	}
	dep := idx.Projects[1].Releases[1]
	if dep.Version != "2.0" || !dep.UploadTime.Equal(time.Date(2023, 5, 1, 12, 0, 0, 0, time.UTC)) || dep.Requires[0] != "shared>=1.1" {
		t.Errorf("dep-a 2.0 loaded as %+v", dep)
	}
	wc := idx.Projects[5].Releases[0]
	if wc.SdistSize != 8000 || len(wc.Wheels) != 2 || wc.Wheels[1].Size != 20000 || wc.RequiresPython != ">=3.8, <4" {
		t.Errorf("Web.Client 2.0 loaded as %+v", wc)
	}

	small, err := Load(filepath.Join("..", "..", "testdata", "pypitest", "small.json"))
	if err != nil {
		t.Fatal(err)
	}
	r := small.Projects[0].Releases[0]
	if small.Projects[0].Name != "Zope.Interface" || r.RequiresPython != ">=3.7" || !r.Sdist || r.Extras[0] != "test" || r.UploadTime.Year() != 2023 {
		t.Errorf("small.json loaded as %+v", small.Projects[0])
	}
}

func TestLoadRejectsUnknownKeysAndBadSpecs(t *testing.T) {
	tests := []struct{ name, text, err string }{
		{"typo.toml", "[[projects]]\nname = \"a\"\n[[projects.releases]]\nversion = \"1.0\"\nsdsit = true\n", "sdsit"},
		{"typo.json", `{"projects": [{"name": "a", "releses": []}]}`, "releses"},
		{"bad.yaml", "projects: []", "unknown spec format"},
		{"version.toml", "[[projects]]\nname = \"a\"\n[[projects.releases]]\nversion = \"1.0-1\"\n", `"1.0-1"`},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		path := filepath.Join(dir, tt.name)
		if err := os.WriteFile(path, []byte(tt.text), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("Load(%s) error %v, want one containing %q", tt.name, err, tt.err)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing.toml")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

func TestValidateRejectsSpecsAStrictIndexCannotServe(t *testing.T) {
	rel := func(mut func(*Release)) *Index {
		r := Release{Version: "1.0", Wheels: []Wheel{{Tags: "py3-none-any"}}}
		mut(&r)
		return &Index{Projects: []Project{{Name: "p", Releases: []Release{r}}}}
	}
	tests := []struct {
		name string
		idx  *Index
		err  string
	}{
		{"nil index", nil, "nil index"},
		{"bad project name", &Index{Projects: []Project{{Name: "-x"}}}, `"-x"`},
		{"names that normalize alike", &Index{Projects: []Project{{Name: "A.b"}, {Name: "a_B"}}}, "same normalized name"},
		{"non-canonical version", rel(func(r *Release) { r.Version = "1.0.0-rc1" }), "non-canonical"},
		{"upper-case version", rel(func(r *Release) { r.Version = "1.0RC1" }), "non-canonical"},
		{"zero epoch", rel(func(r *Release) { r.Version = "0!1.0" }), "non-canonical"},
		{"bad tag set", rel(func(r *Release) { r.Wheels[0].Tags = "py3-any" }), "py3-any"},
		{"duplicate tag set", rel(func(r *Release) { r.Wheels = append(r.Wheels, r.Wheels[0]) }), "duplicate wheel"},
		{"negative size", rel(func(r *Release) { r.Wheels[0].Size = -1 }), "negative"},
		{"sdist size without sdist", rel(func(r *Release) { r.SdistSize = 10 }), "without sdist"},
		{"newline in requirement", rel(func(r *Release) { r.Requires = []string{"a\nRequires-Dist: evil"} }), "control character"},
		{"empty requirement", rel(func(r *Release) { r.Requires = []string{""} }), "invalid requirement"},
		{"requirement without a name", rel(func(r *Release) { r.Requires = []string{">=1"} }), "invalid requirement"},
		{"bad extra", rel(func(r *Release) { r.Extras = []string{"a b"} }), "invalid extra"},
		{"padded requires-python", rel(func(r *Release) { r.RequiresPython = " >=3" }), "surrounding space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.idx.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.err)
			}
		})
	}
	dup := &Index{Projects: []Project{{Name: "p", Releases: []Release{{Version: "1.0"}, {Version: "1.0"}}}}}
	if err := dup.Validate(); err == nil {
		t.Error("duplicate versions accepted")
	}
}
