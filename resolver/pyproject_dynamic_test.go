package resolver

import (
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/testenv"
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

// TestPyprojectAsksAnyOtherBackendThroughItsMetadataHook runs a real
// in-tree PEP 517 backend (backend-path) whose dependencies only its code
// knows, through prepare_metadata_for_build_wheel.
func TestPyprojectAsksAnyOtherBackendThroughItsMetadataHook(t *testing.T) {
	testenv.Slow(t, "runs a PEP 517 backend in python3")
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "pyproject.toml"), `[build-system]
requires = []
build-backend = "backend"
backend-path = ["_build"]

[project]
name = "site"
version = "1.0"
requires-python = ">=3.12"
dynamic = ["dependencies", "optional-dependencies"]
`)
	writeFile(t, filepath.Join(dir, "_build", "backend.py"), `import os

def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    d = os.path.join(metadata_directory, "site-1.0.dist-info")
    os.makedirs(d)
    with open(os.path.join(d, "METADATA"), "w") as f:
        f.write("Metadata-Version: 2.1\nName: site\nVersion: 1.0\nRequires-Python: >=3.12\n"
                "Requires-Dist: django>=5.2\nRequires-Dist: colorama; sys_platform == 'win32'\n"
                "Provides-Extra: testing\nRequires-Dist: pytest>=8; extra == 'testing'\n"
                "Requires-Dist: pytest-xdist; python_version < '3.14' and extra == 'testing'\n")
    return "site-1.0.dist-info"

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    raise RuntimeError("not needed")
`)
	file := filepath.Join(dir, "pyproject.toml")
	for _, tt := range []struct {
		name   string
		extras []string
		want   string
	}{
		{"dependencies", nil, `colorama; sys_platform == "win32" | django>=5.2`},
		{"testing", []string{"testing"}, `colorama; sys_platform == "win32" | django>=5.2 | pytest-xdist; python_version < "3.14" | pytest>=8`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in, err := ReadInputs([]string{file}, nil, InputOptions{Extras: tt.extras, Python: python})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range in.Requirements {
				got = append(got, r.String())
			}
			sort.Strings(got)
			if strings.Join(got, " | ") != tt.want {
				t.Errorf("requirements:\n got %s\nwant %s", strings.Join(got, " | "), tt.want)
			}
		})
	}
	_, err = ReadInputs([]string{file}, nil, InputOptions{Extras: []string{"doc"}, Python: python})
	if want := `unknown extra "doc": the built metadata provides testing`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v, want %s", err, want)
	}
	_, err = ReadInputs([]string{file}, nil, InputOptions{})
	if want := "project.dependencies is dynamic and not a setuptools file reference: only backend knows it; larder runs the backend's prepare_metadata_for_build_wheel hook when given a Python"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("without a Python: error = %v, want %s", err, want)
	}
}
