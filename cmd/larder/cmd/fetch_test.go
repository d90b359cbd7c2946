package cmd

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/wheelhouse"
)

// lockedProject is a project that locks web and fast from the small
// index for linux/amd64 and Python 3.11 into the wheelhouse wh, locked.
func lockedProject(t *testing.T) string {
	t.Helper()
	dir := newProject(t, pypitest.Start(t, smallIndex()), "web\nfast\n", `[wheelhouse]
dir = "wh"
[[target]]
platform = "linux/amd64"
python = "3.11"
`)
	mustRun(t, dir, []string{"lock"})
	return dir
}

func TestFetchVerifyAndGCFromTheCommandLine(t *testing.T) {
	dir := lockedProject(t)

	var sum fetchSummary
	out := runJSON(t, dir, &sum, "fetch", "--json", "--jobs", "2")
	if sum.Report == nil || sum.Downloaded != 4 || sum.Files != 4 || sum.Wheelhouse != filepath.Join(dir, "wh") {
		t.Errorf("fetch summary %s", out)
	}

	code, out, _ := run(t, dir, "fetch")
	if code != 0 || !strings.Contains(out, "0 downloaded") || !strings.Contains(out, "4 already present") {
		t.Errorf("second fetch: %d\n%s", code, out)
	}

	code, out, _ = run(t, dir, "verify")
	if code != 0 || !strings.Contains(out, "every file is present and intact") {
		t.Errorf("verify of a sound wheelhouse: %d\n%s", code, out)
	}

	// Damage it: an unexpected file fails verify, gc lists then removes it.
	stray := filepath.Join(dir, "wh", wheelhouse.FilesDir, "stray-1.0.tar.gz")
	if err := os.WriteFile(stray, []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := run(t, dir, "verify")
	if code != 1 || !strings.Contains(out, "unexpected stray-1.0.tar.gz") || !strings.Contains(stderr, "1 unexpected") || !strings.Contains(stderr, "hint: ") {
		t.Errorf("verify of a damaged wheelhouse: %d\n%s\n%s", code, out, stderr)
	}
	code, out, _ = run(t, dir, "verify", "--json")
	var vs verifySummary
	if code != 1 || json.Unmarshal([]byte(out), &vs) != nil || vs.OK || len(vs.Problems) != 1 {
		t.Errorf("verify --json: %d\n%s", code, out)
	}
	code, out, _ = run(t, dir, "gc")
	if code != 0 || !strings.Contains(out, "would remove 1 file ") || !strings.Contains(out, "stray-1.0.tar.gz") {
		t.Errorf("gc: %d\n%s", code, out)
	}
	if _, err := os.Stat(stray); err != nil {
		t.Errorf("gc without --force removed the file")
	}
	code, out, _ = run(t, dir, "gc", "--force", "--json")
	var gs gcSummary
	if code != 0 || json.Unmarshal([]byte(out), &gs) != nil || !gs.Removed || len(gs.Files) != 1 {
		t.Errorf("gc --force: %d\n%s", code, out)
	}
	if code, out, _ := run(t, dir, "verify"); code != 0 {
		t.Errorf("verify after gc: %d\n%s", code, out)
	}
}

func TestFetchCommandErrorsSayWhatToDo(t *testing.T) {
	checkExits(t, []exitCase{
		{[]string{"fetch"}, 1, "hint: run 'larder lock' first"},
		{[]string{"fetch", "--jobs", "0"}, 2, "--jobs must be at least 1"},
		{[]string{"fetch", "--builder", "docker"}, 2, `unknown --builder "docker"`},
		{[]string{"verify"}, 1, "hint: run 'larder fetch' first"},
		{[]string{"gc"}, 1, "hint: run 'larder lock' first"},
	})
}

func TestAPrivateIndexsCredentialsStayOutOfTheLockAndTheWheelhouse(t *testing.T) {
	srv := pypitest.Start(t, smallIndex(), pypitest.WithBasicAuth("ci", "s3cr3t-token"))
	private := strings.Replace(srv.URL(), "http://", "http://ci:s3cr3t-token@", 1)
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	writeFiles(t, dir, map[string]string{
		"requirements.txt": "web\n",
		"larder.toml":      larderTOML(private, "", "[wheelhouse]\ndir = \"wh\"\n[[target]]\nplatform = \"linux/amd64\"\npython = \"3.11\"\n"),
	})
	mustRun(t, dir, []string{"lock"}, []string{"fetch"}, []string{"verify"})
	for _, f := range []string{"pylock.toml", filepath.Join("wh", wheelhouse.ManifestName)} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("s3cr3t")) {
			t.Errorf("%s holds the index's password:\n%s", f, b)
		}
	}
	// The files were asked for with the configured index's credentials,
	// and a lock alone gives none.
	dir2 := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir2, "cache")) // nothing from the first fetch
	writeFiles(t, dir2, map[string]string{"larder.toml": larderTOML(srv.URL(), "", "[wheelhouse]\ndir = \"wh\"\n")})
	data, err := os.ReadFile(filepath.Join(dir, "pylock.toml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir2, map[string]string{"pylock.toml": string(data)})
	if code, out, stderr := run(t, dir2, "fetch"); code == 0 || !strings.Contains(stderr, "401") {
		t.Errorf("a fetch without the index's credentials: exit %d\n%s\n%s", code, out, stderr)
	}
}

// TestALinkedFilesFolderIsRefusedByEveryCommandAndNothingOutsideIsTouched
// is the audit's reproduction: a fetched wheelhouse whose files/ is
// replaced by a link to someone's folder. gc --force deleted all of that
// folder and fetch wrote into it; now every command that opens the
// wheelhouse refuses it, naming files/ and saying to remove the link,
// and the folder keeps every file.
func TestALinkedFilesFolderIsRefusedByEveryCommandAndNothingOutsideIsTouched(t *testing.T) {
	dir := lockedProject(t)
	mustRun(t, dir, []string{"fetch"})
	victim := filepath.Join(t.TempDir(), "victim")
	notes := map[string]string{"notes.txt": "mine", "project/inner.txt": "mine too"}
	for name, body := range notes {
		p := filepath.Join(victim, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files := filepath.Join(dir, "wh", wheelhouse.FilesDir)
	if err := os.RemoveAll(files); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, files); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"gc", "--force"}, {"fetch"}, {"verify"}, {"export", "--requirements", "-"},
		{"export", "--oci-layout", filepath.Join(t.TempDir(), "out"), "--platform", "linux/amd64"},
	} {
		code, _, stderr := run(t, dir, args...)
		if code == 0 || !strings.Contains(stderr, "files/ is a symbolic link to "+victim) || !strings.Contains(stderr, "rm "+files) {
			t.Errorf("larder %v: exit %d, %s; want it refused, naming files/ and what to do", args, code, stderr)
		}
	}
	ents, err := os.ReadDir(victim)
	if err != nil || len(ents) != 2 {
		t.Fatalf("the folder the link leads to holds %v (%v); want notes.txt and project/ alone", ents, err)
	}
	for name, body := range notes {
		if b, err := os.ReadFile(filepath.Join(victim, filepath.FromSlash(name))); err != nil || string(b) != body {
			t.Errorf("%s: %q, %v; want %q", name, b, err, body)
		}
	}
}
