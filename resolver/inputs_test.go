package resolver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadInputsTakesEveryKindOfInput(t *testing.T) {
	root := filepath.Join("..", "testdata")
	tests := []struct {
		name   string
		files  []string
		reqs   int
		pinned bool
		check  func(*testing.T, *Inputs)
	}{
		{
			name:   "pip-compile output is pinned",
			files:  []string{filepath.Join(root, "edxindex", "requirements", "edx", "base.txt")},
			reqs:   302,
			pinned: true,
		},
		{
			name:  "pyproject.toml with uv sources",
			files: []string{filepath.Join(root, "pyproject", "edx-platform", "pyproject.toml")},
			reqs:  135,
			check: func(t *testing.T, in *Inputs) {
				if len(in.Constraints) != 21 {
					t.Errorf("constraints = %d, want tool.uv's 21", len(in.Constraints))
				}
				for _, r := range in.Requirements {
					if r.NormalizedName() == "xblocks-core" && (r.VCS == nil || !strings.Contains(r.VCS.URL, "github.com")) {
						t.Errorf("xblocks-core must come from its git source: %+v", r.VCS)
					}
				}
			},
		},
		{
			name:  "uv.lock takes the members' requirements and the locked versions",
			files: []string{filepath.Join(root, "uvlock", "uv.lock")},
			check: func(t *testing.T, in *Inputs) {
				if len(in.Requirements) == 0 || len(in.Constraints) == 0 {
					t.Errorf("requirements %d, constraints %d", len(in.Requirements), len(in.Constraints))
				}
			},
		},
		{
			name:   "pylock.toml is pinned with hashes",
			files:  []string{filepath.Join(root, "pylock", "pylock.toml")},
			pinned: true,
			check: func(t *testing.T, in *Inputs) {
				hashed := 0
				for _, r := range in.Requirements {
					if len(r.Hashes) > 0 {
						hashed++
					}
				}
				if hashed == 0 {
					t.Error("no hash pins taken from the lock")
				}
			},
		},
		{
			name:   "a PDM pylock.toml installs its default groups",
			files:  []string{filepath.Join(root, "pylock", "wild", "pylock.pdm-groups.toml")},
			reqs:   3,
			pinned: true,
			check: func(t *testing.T, in *Inputs) {
				var got []string
				for _, r := range in.Requirements {
					got = append(got, r.String())
				}
				want := []string{`exceptiongroup==1.3.0; python_version < "3.11"`, "idna==3.11", `tzdata==2025.2; sys_platform == "win32"`}
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("requirements %q, want %q", got, want)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := ReadInputs(tt.files, nil, InputOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if tt.reqs > 0 && len(in.Requirements) != tt.reqs {
				t.Errorf("requirements = %d, want %d", len(in.Requirements), tt.reqs)
			}
			if in.Pinned != tt.pinned {
				t.Errorf("pinned = %v, want %v", in.Pinned, tt.pinned)
			}
			if tt.check != nil {
				tt.check(t, in)
			}
		})
	}
}

func TestReadInputsNamesTheFileAndLineOfBadInput(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "r.txt"), "django>=4.2\nfoo >= \n")
	_, err := ReadInputs([]string{filepath.Join(dir, "r.txt")}, nil, InputOptions{})
	if err == nil || !strings.Contains(err.Error(), "r.txt:2") {
		t.Errorf("got %v", err)
	}
}

// TestReadInputsRefusesAGitArchiveSourceSayingSo keeps larder from
// building a repository's root when a uv.lock names an archive inside it
// (testdata/uvlock/wild/git-archive.uv.lock, a lock uv wrote).
func TestReadInputsRefusesAGitArchiveSourceSayingSo(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "uvlock", "wild", "git-archive.uv.lock"))
	if err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(t.TempDir(), "uv.lock")
	if err := os.WriteFile(lock, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ReadInputs([]string{lock}, nil, InputOptions{})
	want := "uv.lock: package iniconfig: git sources with path (an archive inside the repository, archives/iniconfig-2.0.0.tar.gz) are not supported yet"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want an error saying %q", err, want)
	}
}

func TestReadInputsRefusesALockOfLocalFilesOrFoldersSayingSo(t *testing.T) {
	root := filepath.Join("..", "testdata", "pylock", "wild")
	for _, tc := range []struct{ file, want string }{
		{"pylock.directory.toml", "nothing to fetch: the lock's packages for the chosen extras and groups are local folders (2)"},
		{"pylock.onesdist.toml", "packages[0] (simple): its files are local (../packages/simple-2.0.tar.gz), with no URL"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			_, err := ReadInputs([]string{filepath.Join(root, tc.file)}, nil, InputOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.file) {
				t.Errorf("got %v, want an error naming %s and saying %q", err, tc.file, tc.want)
			}
		})
	}
}

// TestReadInputsRefusesAPylockArchiveNamingItWithoutItsToken: a source
// archive is refused, naming the archive (so the user knows which one)
// but never the token in its URL.
func TestReadInputsRefusesAPylockArchiveNamingItWithoutItsToken(t *testing.T) {
	lock := filepath.Join(t.TempDir(), "pylock.toml")
	if err := os.WriteFile(lock, []byte(`lock-version = "1.0"
created-by = "hand"

[[packages]]
name = "tree"
archive = {url = "https://ci:s3cret@example.com/tree-1.0.tar.gz", hashes = {sha256 = "e920276dd6813095e9377c0bc5566d94c932c33b27a3e3945d8389c374dd4746"}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadInputs([]string{lock}, nil, InputOptions{})
	if err == nil || !strings.Contains(err.Error(), "packages[0] (tree): a source archive (https://ci:xxxxx@example.com/tree-1.0.tar.gz) is not supported yet") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("got %v, want an error naming the archive without its token", err)
	}
}

func TestReadInputsSaysWhenTheChosenGroupsInstallNothingOfAPylock(t *testing.T) {
	// The lock has a package, only for a group not chosen: it is not a
	// lock without packages.
	lock := filepath.Join(t.TempDir(), "pylock.toml")
	if err := os.WriteFile(lock, []byte(`lock-version = "1.0"
created-by = "hand"
dependency-groups = ["dev"]

[[packages]]
name = "pluggy"
version = "1.6.0"
marker = '"dev" in dependency_groups'
wheels = [{name = "pluggy-1.6.0-py3-none-any.whl", url = "https://files.pythonhosted.org/packages/54/20/4d324d65cc6d9205fabedc306948156824eb9f0ee1633355a8f7ec5c66bf/pluggy-1.6.0-py3-none-any.whl", hashes = {sha256 = "e920276dd6813095e9377c0bc5566d94c932c33b27a3e3945d8389c374dd4746"}}]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadInputs([]string{lock}, nil, InputOptions{})
	if want := "none of the lock's 1 packages is installed with the chosen extras and groups"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want an error saying %q", err, want)
	}
	in, err := ReadInputs([]string{lock}, nil, InputOptions{Groups: []string{"dev"}})
	if err != nil || len(in.Requirements) != 1 {
		t.Fatalf("with the group: %v, %d requirements", err, len(in.Requirements))
	}
}

// TestReadInputsWarnsThatAnIndexSourceIsNotFollowed: lerobot's
// pyproject.toml sends torch to a named [[tool.uv.index]]; larder serves
// every project from its configured indexes and says so, naming the file,
// the line and the index.
func TestReadInputsWarnsThatAnIndexSourceIsNotFollowed(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "pyproject.toml"), `[project]
name = "me"
version = "0"
dependencies = ["torch>=2"]

[[tool.uv.index]]
name = "pytorch-cu128"
url = "https://download.pytorch.org/whl/cu128"
explicit = true

[tool.uv.sources]
torch = { index = "pytorch-cu128", marker = "sys_platform == 'linux'" }
`)
	in, err := ReadInputs([]string{filepath.Join(dir, "pyproject.toml")}, nil, InputOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := `pyproject.toml:4: [tool.uv.sources] torch: index "pytorch-cu128" is not followed`
	if len(in.Warnings) != 1 || !strings.Contains(in.Warnings[0], want) {
		t.Errorf("warnings %q, want one saying %q", in.Warnings, want)
	}
}
