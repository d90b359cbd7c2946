package cmd

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/resolver/pylock"
	"github.com/larder-build/larder/wheelhouse/fetch"
)

// TestUserErrorsSayWhatToDo checks the messages a newcomer meets first:
// each names the thing that is wrong in larder's terms and points at the
// help of the command that was meant.
func TestUserErrorsSayWhatToDo(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"bad-type.toml":  "[project]\nrequirements = \"requirements.txt\"\n",
		"bad-type2.toml": "[index]\nurl = 5\n",
		"corrupt/larder.toml": `[wheelhouse]
dir = "wh"
`,
		"corrupt/wh/manifest.json": "{garbage",
	})
	tests := []struct {
		name   string
		dir    string
		args   []string
		code   int
		want   []string
		unwant []string
	}{
		{"a mistyped command", dir, []string{"lokc"}, 2,
			[]string{`unknown command "lokc"`, "hint: did you mean 'larder lock'?", "Run 'larder --help' for usage."},
			[]string{"Did you mean this?"}},
		{"a subcommand's unknown flag", dir, []string{"lock", "--bogus"}, 2,
			[]string{"unknown flag: --bogus", "Run 'larder lock --help' for usage."}, []string{"Run 'larder --help'"}},
		{"a subcommand's missing argument", dir, []string{"why"}, 2,
			[]string{"Run 'larder why --help' for usage."}, nil},
		{"a string where a list goes", dir, []string{"--config", "bad-type.toml", "config"}, 1,
			[]string{"bad-type.toml:2: project.requirements: is a string, but must be an array of strings"},
			[]string{"struct field", "[]string"}},
		{"a number where a string goes", dir, []string{"--config", "bad-type2.toml", "config"}, 1,
			[]string{"bad-type2.toml:2: index.url: is an integer, but must be a string"}, []string{"struct field"}},
		{"a corrupt manifest", filepath.Join(dir, "corrupt"), []string{"verify"}, 1,
			[]string{"manifest.json is corrupt", "hint: move it aside (mv ", "and run 'larder fetch'"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, tt.dir, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s", code, tt.code, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			for _, w := range tt.unwant {
				if strings.Contains(stderr, w) {
					t.Errorf("stderr has %q:\n%s", w, stderr)
				}
			}
			for _, l := range strings.Split(stderr, "\n") {
				if strings.TrimSpace(l) == "larder:" {
					t.Errorf("an empty 'larder:' line:\n%s", stderr)
				}
			}
		})
	}
}

// TestJSONIsHonouredByInitConfigAndVersion: --json prints JSON, not TOML or
// text, and init in an empty folder says what to do before 'larder lock'.
func TestJSONIsHonouredByInitConfigAndVersion(t *testing.T) {
	withoutPythonOnPath(t)
	dir := t.TempDir()
	code, out, stderr := run(t, dir, "init")
	if code != 0 || strings.Contains(out, "next: larder lock\n") || !strings.Contains(out, "no requirement files") ||
		!strings.Contains(out, "list your requirement files under [project] requirements") {
		t.Errorf("init in an empty folder: %d\n%s%s", code, out, stderr)
	}
	os.Remove(filepath.Join(dir, "larder.toml"))
	writeFiles(t, dir, map[string]string{"requirements.txt": "django\n"})
	for _, args := range [][]string{{"init", "--json"}, {"config", "--json"}, {"version", "--json"}} {
		code, out, stderr := run(t, dir, args...)
		var v map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &v) != nil {
			t.Errorf("larder %s: %d, not JSON:\n%s%s", strings.Join(args, " "), code, out, stderr)
			continue
		}
		switch args[0] {
		case "init":
			if v["next"] != "larder lock" || v["wrote"] != "larder.toml" {
				t.Errorf("init --json: %v", v)
			}
		case "config":
			cfg, _ := v["config"].(map[string]any)
			project, _ := cfg["project"].(map[string]any)
			if v["file"] != "larder.toml" || project == nil || project["requirements"] == nil {
				t.Errorf("config --json has not the TOML's keys: %v", v)
			}
		}
	}
}

// TestNoProgressMeansNoProgressLines locks and fetches from a slow index
// with stderr not a terminal (as in CI): with --no-progress not one
// progress line is printed.
func TestNoProgressMeansNoProgressLines(t *testing.T) {
	testenv.Slow(t, "locks and fetches from an index that takes 700 ms a request")
	srv := pypitest.Start(t, smallIndex())
	srv.SetLatency(700 * time.Millisecond)
	dir := newProject(t, srv, "web\nfast\n", "")
	for _, verb := range []string{"lock", "fetch"} {
		code, out, stderr := run(t, dir, verb, "--no-progress")
		if code != 0 {
			t.Fatalf("%s: %d\n%s%s", verb, code, out, stderr)
		}
		if strings.Contains(stderr, "resolving:") || strings.Contains(stderr, "fetching:") {
			t.Errorf("%s --no-progress printed progress:\n%s", verb, stderr)
		}
	}
}

// TestFetchRateCountsOnlyDownloadedBytes: files already present or taken
// from the cache are not a download speed.
func TestFetchRateCountsOnlyDownloadedBytes(t *testing.T) {
	p := newFetchProgress(&pylock.Lock{}, nil, false)
	p.start = time.Now().Add(-10 * time.Second)
	p.event(fetch.Event{File: "a.whl", State: fetch.Skipped, Via: fetch.ViaPresent, Bytes: 450 << 20})
	p.event(fetch.Event{File: "b.whl", State: fetch.Done, Via: fetch.ViaCache, Bytes: 10 << 20})
	if l := p.line(); strings.Contains(l, "/s") {
		t.Errorf("a fetch that downloaded nothing shows a rate: %s", l)
	}
	p.event(fetch.Event{File: "c.whl", State: fetch.Done, Via: fetch.ViaDownload, Bytes: 10 << 20})
	if l := p.line(); !strings.Contains(l, "downloading 1.0 MB/s") && !strings.Contains(l, "downloading 1.0 MiB/s") {
		t.Errorf("10 MiB in 10 s: %s", l)
	}
}

// TestAFailedBuildNamesItsInterpreterAndHowToChooseAnother fetches an
// sdist with an interpreter that has pip and setuptools but no wheel (a
// fresh venv of Debian's python3): the error says which interpreter ran,
// why it failed, and how to pick another, with no doubled prefix.
func TestAFailedBuildNamesItsInterpreterAndHowToChooseAnother(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an sdist with a real pip")
	}
	dir := t.TempDir()
	venv := filepath.Join(dir, "venv")
	if out, err := exec.Command("/usr/bin/python3", "-m", "venv", venv).CombinedOutput(); err != nil {
		testenv.Need(t, fmt.Errorf("making a venv with /usr/bin/python3 (apt-get install python3-venv): %v\n%s", err, out))
	}
	python := filepath.Join(venv, "bin", "python")
	if exec.Command(python, "-c", "import wheel").Run() == nil {
		t.Skip("this venv has wheel: nothing to fail")
	}
	srv := pypitest.Start(t, &pypitest.Index{Projects: []pypitest.Project{
		{Name: "onlysdist", Releases: []pypitest.Release{{Version: "1.0", Sdist: true}}}}})
	dir = newProject(t, srv, "onlysdist==1.0\n", "")
	writeFiles(t, dir, map[string]string{"larder.toml": larderTOML(srv.URL(), "python = \""+python+"\"\n", "")})
	mustRun(t, dir, []string{"lock", "--no-progress"})
	code, out, stderr := run(t, dir, "fetch", "--no-progress")
	if code != 1 {
		t.Fatalf("fetch with a wheel-less interpreter: exit %d\n%s%s", code, out, stderr)
	}
	for _, want := range []string{"building onlysdist 1.0", "(with " + python + ")", "hint: " + python + " has no 'wheel' package",
		"[project] python", "--builder buildkit"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "larder: larder:") {
		t.Errorf("a doubled prefix:\n%s", stderr)
	}
}

// TestVerifyWarnsOnStaleFilesAndFailsOnlyWhenStrict: the exit code is what
// the README and --help say: a file the lock no longer needs is a warning
// (exit 0) unless --strict (exit 1).
func TestVerifyWarnsOnStaleFilesAndFailsOnlyWhenStrict(t *testing.T) {
	dir := newProject(t, pypitest.Start(t, smallIndex()), "web\nfast\n", `[[target]]
platform = "linux/amd64"
python = "3.11"
`)
	mustRun(t, dir, []string{"lock"}, []string{"fetch"})
	writeFiles(t, dir, map[string]string{"requirements.txt": "web\n"})
	mustRun(t, dir, []string{"lock"})
	code, out, stderr := run(t, dir, "verify")
	if code != 0 || !strings.Contains(out, "stale") {
		t.Errorf("verify with a stale file: exit %d, want 0 and a warning\n%s%s", code, out, stderr)
	}
	if code, out, stderr := run(t, dir, "verify", "--strict"); code != 1 {
		t.Errorf("verify --strict with a stale file: exit %d, want 1\n%s%s", code, out, stderr)
	}
}

// TestAnErrorWritesNoControlCharacterToTheTerminal: a requirement line
// holding an escape sequence, backspaces, a bidirectional override or a
// C1 control is named in lock's error with that
// character escaped, never raw, so that hostile input cannot recolour,
// clear or rewrite the terminal, nor fake a line of larder's output.
func TestAnErrorWritesNoControlCharacterToTheTerminal(t *testing.T) {
	for _, c := range []struct{ name, line, want string }{
		{"an escape sequence", "web\x1b[2J==1", `web\x1b[2J==1`},
		{"backspaces over the name", "evil\b\b\b\bweb==1", `evil\b\b\b\bweb==1`},
		{"a bidirectional override", "web\u202e==1", `web\u202e==1`},
		{"a C1 control sequence introducer", "web\u009b2J==1", `web\u009b2J==1`},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
			writeFiles(t, dir, map[string]string{"requirements.txt": c.line + "\n", "larder.toml": larderTOML("http://127.0.0.1:1/simple/", "", "")})
			code, _, stderr := run(t, dir, "lock", "--retries", "0")
			if code != 1 || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, want 1 and the line shown as %s:\n%s", code, c.want, stderr)
			}
			if bad := strings.IndexFunc(stderr, func(r rune) bool {
				return r == utf8.RuneError || r != '\n' && r != '\t' && r != ' ' && !unicode.IsPrint(r)
			}); bad >= 0 || !utf8.ValidString(stderr) {
				t.Errorf("stderr holds a raw control character at byte %d: %q", bad, stderr)
			}
		})
	}
}
