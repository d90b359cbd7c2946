package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/larder-build/larder/cmd/larder/config"
	"github.com/larder-build/larder/internal/testenv"
)

// TestInitSelectsTheTestExtraAndGroupUnlessTold checks init's rule: the
// chosen input's extra and group named test, tests or testing are
// selected, --extra and --group replace them (each its own kind), a name
// the chosen inputs lack is refused with the ones they have, and init
// says what it chose.
func TestInitSelectsTheTestExtraAndGroupUnlessTold(t *testing.T) {
	pep621 := `[project]
name = "web"
version = "1.0"
dependencies = ["django"]
[project.optional-dependencies]
docs = ["sphinx"]
test = ["pytest"]
testing = ["pytest-cov"]
[dependency-groups]
lint = ["ruff"]
tests = ["pytest-xdist"]
`
	docsOnly := "[project]\nname = \"web\"\nversion = \"1.0\"\n[project.optional-dependencies]\ndocs = [\"sphinx\"]\n"
	tests := []struct {
		name       string
		files      map[string]string // nil: the edx-shaped layout
		args       []string
		wantExtras []string
		wantGroups []string
		wantSaid   string
		wantErr    string
	}{
		{name: "edx: the testing extra of uv.lock", args: nil,
			wantExtras: []string{"testing"}, wantGroups: []string{}, wantSaid: `the project's test extra "testing"`},
		{name: "edx: --extra replaces the guess", args: []string{"--extra", "development"},
			wantExtras: []string{"development"}, wantGroups: []string{}, wantSaid: "extras development as asked"},
		{name: "edx: an extra uv.lock lacks is refused, naming those it has", args: []string{"--extra", "doc"},
			wantErr: `init: extra "doc": uv.lock offers extras development, dos, testing`},
		{name: "edx: a group uv.lock lacks is refused", args: []string{"--group", "dev"},
			wantErr: `init: group "dev": uv.lock offers groups bundled, ci, django42, django52`},
		{name: "pyproject: test is preferred to testing, and the tests group is taken", files: map[string]string{"pyproject.toml": pep621},
			wantExtras: []string{"test"}, wantGroups: []string{"tests"}, wantSaid: `the project's test extra "test" and group "tests"`},
		{name: "pyproject: --group replaces the group only", files: map[string]string{"pyproject.toml": pep621}, args: []string{"--group", "lint"},
			wantExtras: []string{"test"}, wantGroups: []string{"lint"}, wantSaid: `groups lint as asked; the project's test extra "test"`},
		{name: "pyproject without a test extra: main dependencies only", files: map[string]string{"pyproject.toml": docsOnly},
			wantExtras: []string{}, wantGroups: []string{}, wantSaid: "pyproject.toml has no test extra or group"},
		{name: "requirement files take no extras", files: map[string]string{"requirements.txt": "django\n"}, args: []string{"--extra", "test"},
			wantErr: `init: extra "test": none of the chosen inputs (requirements.txt) has extras`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantErr == "" { // a refusal comes before init probes python3
				testenv.Slow(t, "larder init probes python3 for setuptools and wheel")
			}
			dir := t.TempDir()
			if tt.files == nil {
				dir = edxLayout(t)
			} else {
				writeFiles(t, dir, tt.files)
			}
			code, out, stderr := run(t, dir, append([]string{"init", "--json"}, tt.args...)...)
			if tt.wantErr != "" {
				if code == 0 || !strings.Contains(stderr, tt.wantErr) {
					t.Fatalf("init exited %d: %s; want an error with %q", code, stderr, tt.wantErr)
				}
				if _, err := os.Stat(filepath.Join(dir, "larder.toml")); err == nil {
					t.Error("a refused init wrote larder.toml")
				}
				return
			}
			if code != 0 {
				t.Fatalf("init exited %d: %s", code, stderr)
			}
			var sum initSummary
			if err := json.Unmarshal([]byte(out), &sum); err != nil {
				t.Fatalf("init --json: %v\n%s", err, out)
			}
			if !strings.Contains(sum.Chosen, tt.wantSaid) {
				t.Errorf("chosen = %q, want it to say %q", sum.Chosen, tt.wantSaid)
			}
			cfg, err := config.Load(filepath.Join(dir, "larder.toml"), false)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(cfg.Project.Extras, ",") + " | " + strings.Join(cfg.Project.Groups, ",")
			want := strings.Join(tt.wantExtras, ",") + " | " + strings.Join(tt.wantGroups, ",")
			if got != want || strings.Join(sum.Extras, ",")+" | "+strings.Join(sum.Groups, ",") != want {
				t.Errorf("larder.toml selects %q and --json says %v %v; want %q", got, sum.Extras, sum.Groups, want)
			}
		})
	}
}
