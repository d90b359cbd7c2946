package resolver

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestPyprojectReadsSetuptoolsDynamicDependencyFiles reads an edx-shaped
// pyproject.toml whose dependencies and extras are setuptools file
// references, with -r and -c inside the files: what setuptools would put
// in the metadata.
func TestPyprojectReadsSetuptoolsDynamicDependencyFiles(t *testing.T) {
	file := filepath.Join("..", "testdata", "pyproject", "edx-dynamic", "pyproject.toml")
	base := "asgiref==3.8.1 django==5.2.17 requests==2.32.3 sqlparse==0.5.3"
	testingSet := base + " ddt==1.7.2 pytest-xdist[psutil]==3.6.1;python_version<\"3.14\" pytest==8.3.5"
	for _, tt := range []struct {
		name   string
		extras []string
		want   string
	}{
		{"dependencies", nil, base},
		{"testing extra with -r base.txt", []string{"testing"}, testingSet},
		{"development through two -r levels", []string{"development"}, testingSet + " sphinx==8.2.3"},
		{"two extras sharing files", []string{"testing", "development"}, testingSet + " sphinx==8.2.3"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in, err := ReadInputs([]string{file}, nil, InputOptions{Extras: tt.extras})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			var got []string
			for _, r := range in.Requirements {
				s := strings.ReplaceAll(r.String(), " ", "")
				if !seen[s] {
					seen[s] = true
					got = append(got, s)
				}
			}
			sort.Strings(got)
			want := strings.Fields(tt.want)
			sort.Strings(want)
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("requirements:\n got %s\nwant %s", strings.Join(got, " "), strings.Join(want, " "))
			}
			if len(in.Constraints) != 1 || in.Constraints[0].String() != "django<6.0" {
				t.Errorf("constraints = %v, want constraints.txt's django<6.0", in.Constraints)
			}
			if len(in.RequiresPython) != 1 || in.RequiresPython[0].Specifier != ">=3.12" {
				t.Errorf("requires-python = %+v", in.RequiresPython)
			}
		})
	}
}

func TestPyprojectRefusesAnExtraNoDynamicFileGives(t *testing.T) {
	file := filepath.Join("..", "testdata", "pyproject", "edx-dynamic", "pyproject.toml")
	_, err := ReadInputs([]string{file}, nil, InputOptions{Extras: []string{"doc"}})
	want := `tool.setuptools.dynamic.optional-dependencies: unknown extra "doc": known are development, testing`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v, want %s", err, want)
	}
}
