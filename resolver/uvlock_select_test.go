package resolver

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/resolver/target"
)

// edxShapedIndex serves every package of testdata/uvlock/edx-shaped/uv.lock
// at its locked version with the lock's edges as its metadata, plus a newer
// decoy release of each: a closure that is not the lock's shows up as a
// decoy or as a missing or extra name.
func edxShapedIndex() *pypitest.Index {
	locked := map[string][]string{
		"asgiref":            {"3.8.1", `typing-extensions ; python_full_version < "3.13"`},
		"certifi":            {"2025.4.26"},
		"charset-normalizer": {"3.4.2"},
		"colorama":           {"0.4.6"},
		"ddt":                {"1.7.2"},
		"distlib":            {"0.3.9"},
		"docutils":           {"0.21.2"},
		"execnet":            {"2.1.1"},
		"filelock":           {"3.18.0"},
		"idna":               {"3.10"},
		"iniconfig":          {"2.1.0"},
		"jinja2":             {"3.1.6", "markupsafe"},
		"markupsafe":         {"3.0.2"},
		"mypy":               {"1.15.0", "mypy-extensions", "typing-extensions"},
		"mypy-extensions":    {"1.1.0"},
		"packaging":          {"25.0"},
		"platformdirs":       {"4.3.8"},
		"pluggy":             {"1.6.0"},
		"psutil":             {"7.0.0"},
		"pytest":             {"8.3.5", "iniconfig", "packaging", "pluggy"},
		"pytest-django":      {"4.11.1", "pytest"},
		"pytest-xdist":       {"3.6.1", "execnet", "pytest", `psutil ; extra == "psutil"`},
		"requests":           {"2.32.3", "certifi", "charset-normalizer", "idna", "urllib3"},
		"sphinx":             {"8.2.3", "docutils", "jinja2", "packaging"},
		"sqlparse":           {"0.5.3"},
		"tox":                {"4.26.0", "filelock", "packaging", "platformdirs", "pluggy", "virtualenv"},
		"typing-extensions":  {"4.13.2"},
		"urllib3":            {"2.4.0"},
		"virtualenv":         {"20.31.2", "distlib", "filelock", "platformdirs"},
	}
	idx := &pypitest.Index{}
	for name, spec := range locked {
		var extras []string
		if name == "pytest-xdist" {
			extras = []string{"psutil"}
		}
		rel := func(v string) pypitest.Release {
			r := pure(v, spec[1:]...)
			r.Extras = extras
			return r
		}
		idx.Projects = append(idx.Projects, pypitest.Project{Name: name, Releases: []pypitest.Release{rel(spec[0]), rel("99.0")}})
	}
	django := []pypitest.Release{pure("4.2.30", "asgiref", "sqlparse"), pure("5.2.17", "asgiref", "sqlparse"), pure("6.0", "asgiref", "sqlparse")}
	idx.Projects = append(idx.Projects, pypitest.Project{Name: "django", Releases: django})
	return idx
}

// TestUVLockInstallsWhatUVSyncInstallsForEachExtraAndGroup checks larder's
// closure of an edx-shaped uv.lock against the sets uv sync installs, as
// uv's documentation of uv.lock defines them (written out by hand): the
// member's dependencies, plus the chosen extras' optional-dependencies and
// groups' dev-dependencies, following edges whose markers hold (a
// conflicting group is the extra "group-16-openedx-platform-NAME" in them)
// and the optional-dependencies an edge's extra asks for.
func TestUVLockInstallsWhatUVSyncInstallsForEachExtraAndGroup(t *testing.T) {
	base := "asgiref==3.8.1 certifi==2025.4.26 charset-normalizer==3.4.2 django==5.2.17 idna==3.10 requests==2.32.3 sqlparse==0.5.3 typing-extensions==4.13.2 urllib3==2.4.0"
	tests := "ddt==1.7.2 execnet==2.1.1 iniconfig==2.1.0 packaging==25.0 pluggy==1.6.0 psutil==7.0.0 pytest-django==4.11.1 pytest-xdist==3.6.1 pytest==8.3.5"
	for _, tt := range []struct {
		name           string
		extras, groups []string
		target         string
		want           string
	}{
		{"default", nil, nil, "linux/amd64:3.12", base},
		{"no typing-extensions where asgiref's marker is false", nil, nil, "linux/amd64:3.13",
			strings.Replace(base, " typing-extensions==4.13.2", "", 1)},
		{"testing", []string{"testing"}, nil, "linux/amd64:3.12", base + " " + tests},
		{"development", []string{"development"}, nil, "linux/amd64:3.12",
			base + " " + tests + " docutils==0.21.2 jinja2==3.1.6 markupsafe==3.0.2 mypy-extensions==1.1.0 mypy==1.15.0 sphinx==8.2.3"},
		{"dos adds only a Windows package", []string{"dos"}, nil, "linux/amd64:3.12", base},
		{"extra spelled otherwise", []string{"Testing"}, nil, "linux/amd64:3.12", base + " " + tests},
		{"ci group", nil, []string{"ci"}, "linux/amd64:3.12",
			base + " distlib==0.3.9 filelock==3.18.0 packaging==25.0 platformdirs==4.3.8 pluggy==1.6.0 tox==4.26.0 virtualenv==20.31.2"},
		{"django42 fork", nil, []string{"django42"}, "linux/amd64:3.12", strings.Replace(base, "django==5.2.17", "django==4.2.30", 1)},
		{"django52 fork", nil, []string{"django52"}, "linux/amd64:3.12", base},
		{"testing on django42", []string{"testing"}, []string{"django42"}, "linux/amd64:3.12",
			strings.Replace(base, "django==5.2.17", "django==4.2.30", 1) + " " + tests},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in, err := ReadInputs([]string{filepath.Join("..", "testdata", "uvlock", "edx-shaped", "uv.lock")}, nil,
				InputOptions{Extras: tt.extras, Groups: tt.groups})
			if err != nil {
				t.Fatal(err)
			}
			res, err := resolveWith(t, edxShapedIndex(), Request{Requirements: in.Requirements, Constraints: in.Constraints,
				Targets: []target.Target{mustTarget(t, tt.target)}})
			if err != nil {
				t.Fatal(err)
			}
			want := strings.Fields(tt.want)
			sort.Strings(want)
			if got := pins(res, 0); got != strings.Join(want, " ") {
				t.Errorf("closure:\n got %s\nwant %s", got, strings.Join(want, " "))
			}
		})
	}
}

func TestUVLockRefusesUnknownAndConflictingExtrasAndGroups(t *testing.T) {
	lock := filepath.Join("..", "testdata", "uvlock", "edx-shaped", "uv.lock")
	for _, tt := range []struct {
		name           string
		extras, groups []string
		want           string
	}{
		{"unknown extra", []string{"doc"}, nil, `uv.lock: unknown extra "doc": the lock's members have extras development, dos, testing`},
		{"unknown group", nil, []string{"docs"}, `uv.lock: unknown dependency group "docs": the lock's members have dependency groups bundled, ci, django42, django52`},
		{"a group is not an extra", []string{"ci"}, nil, `uv.lock: unknown extra "ci"`},
		{"conflicting groups", nil, []string{"django42", "django52"}, `uv.lock: group django42 and group django52 conflict (conflicts[0])`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadInputs([]string{lock}, nil, InputOptions{Extras: tt.extras, Groups: tt.groups})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want %s", err, tt.want)
			}
		})
	}
}

// TestUVLockPinsAGitPackageToItsLockedCommit checks the bundled group's git
// package: a fork at the lock's commit, not at its branch.
func TestUVLockPinsAGitPackageToItsLockedCommit(t *testing.T) {
	in, err := ReadInputs([]string{filepath.Join("..", "testdata", "uvlock", "edx-shaped", "uv.lock")}, nil, InputOptions{Groups: []string{"bundled"}})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, r := range in.Requirements {
		if r.NormalizedName() == "xblocks-core" {
			found = true
			if r.VCS == nil || r.VCS.URL != "https://github.com/openedx/xblocks-core" || r.VCS.Rev != "0123456789abcdef0123456789abcdef01234567" {
				t.Errorf("xblocks-core VCS = %+v, want the locked commit", r.VCS)
			}
		}
	}
	if !found {
		t.Error("the bundled group's xblocks-core is not required")
	}
}

func TestInputsRefuseATargetOutsideTheProjectsRequiresPython(t *testing.T) {
	for _, file := range []string{
		filepath.Join("..", "testdata", "uvlock", "edx-shaped", "uv.lock"),
		filepath.Join("..", "testdata", "pyproject", "edx-dynamic", "pyproject.toml"),
	} {
		in, err := ReadInputs([]string{file}, nil, InputOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			target, want string
		}{
			{"linux/amd64:3.11", `target linux/amd64:3.11:glibc2.35: Python 3.11 is outside requires-python ">=3.12" of ` + file},
			{"linux/amd64:3.12", ""},
			{"linux/arm64:3.13", ""},
		} {
			err := in.CheckTargets([]target.Target{mustTarget(t, "linux/amd64:3.12"), mustTarget(t, tt.target)})
			if got := fmt.Sprint(err); tt.want == "" && err != nil || tt.want != "" && !strings.HasPrefix(got, tt.want) {
				t.Errorf("%s, %s: error = %v, want %q", file, tt.target, err, tt.want)
			}
		}
	}
}

// TestUVLockGitErrorsNameTheLockedCommit resolves a uv.lock whose git
// package's repository cannot be fetched: the error names the commit the
// lock pins, which is what a user checks first.
func TestUVLockGitErrorsNameTheLockedCommit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	const commit = "89abcdef0123456789abcdef0123456789abcdef"
	dir := t.TempDir()
	missing := "file://" + filepath.ToSlash(filepath.Join(dir, "no-such-repo"))
	lock := filepath.Join(dir, "uv.lock")
	writeFile(t, lock, uvLockOnGit("xblocks-core", quote(missing+"?branch=main#"+commit)))
	in, err := ReadInputs([]string{lock}, nil, InputOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = resolveWith(t, &pypitest.Index{}, Request{Requirements: in.Requirements, Constraints: in.Constraints,
		Targets: []target.Target{mustTarget(t, "linux/amd64:3.12")}, CacheDir: t.TempDir()})
	if want := "checking out " + missing + " at " + commit + ": "; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v, want it to contain %q", err, want)
	}
}
