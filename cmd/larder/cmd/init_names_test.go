package cmd

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/larder-build/larder/cmd/larder/config"
	"github.com/larder-build/larder/internal/testenv"
)

// checkTerminalSafe fails when out holds a byte a terminal would act on:
// a control character other than the newline ending each line, an
// invisible format character (a right-to-left override), or invalid
// UTF-8; and when a line starts with what a file name carried after its
// newline.
func checkTerminalSafe(t *testing.T, what, out string, injected ...string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("%s is not valid UTF-8: %q", what, out)
	}
	for _, r := range out {
		if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) {
			t.Errorf("%s holds the raw character %U: %q", what, r, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		for _, inj := range injected {
			if strings.HasPrefix(strings.TrimSpace(l), inj) {
				t.Errorf("%s has a line a file name started (%q): %q", what, inj, out)
			}
		}
	}
}

// tomllibReads checks that Python's tomllib, a strict TOML 1.0 reader,
// reads the file: go-toml alone accepts escapes TOML does not have.
func tomllibReads(t *testing.T, file string) {
	t.Helper()
	python := testenv.Tool(t, "python3")
	if err := exec.Command(python, "-c", "import tomllib").Run(); err != nil {
		testenv.Need(t, err)
	}
	// Python passes every argument after -c's program to it, "--"
	// included: the file is the last one.
	out, err := exec.Command(python, "-c", `import tomllib,sys; tomllib.load(open(sys.argv[-1],"rb"))`, "--", file).CombinedOutput()
	if err != nil {
		t.Errorf("tomllib refuses %s: %v\n%s", file, err, out)
	}
}

// TestInitWritesValidTOMLAndEscapedOutputForAnyFileName runs init in a
// project whose requirement files have names an attacker chose. A name
// with a control character (DEL, a newline followed by TOML, a terminal
// escape sequence, a C1 control) or invalid UTF-8 is left out with a
// warning that names it escaped; a name TOML must escape but may hold
// (quotes, a backslash, non-ASCII letters, a right-to-left override) is
// kept and reads back exactly, with go-toml and with tomllib; the
// terminal never gets a raw control or format character.
func TestInitWritesValidTOMLAndEscapedOutputForAnyFileName(t *testing.T) {
	skipped := []string{
		"requirements/a\x7fb.txt",
		"requirements/c\nurl=1.txt",
		"requirements/\xff\xfe.txt",
		"requirements/nel\u0085.txt",
		"requirements-\x1b[31mred.txt",
	}
	kept := []string{
		"requirements/base.txt",
		`requirements/dev "x" \ é.txt`,
		"requirements/rtl\u202etxt.exe.txt",
	}
	files := map[string]string{}
	for _, f := range append(append([]string{}, skipped...), kept...) {
		files[f] = "six==1.17.0\n"
	}
	dir := t.TempDir()
	writeFiles(t, dir, files)

	code, out, stderr := run(t, dir, "init")
	if code != 0 {
		t.Fatalf("init exited %d: %s", code, stderr)
	}
	checkTerminalSafe(t, "init's output", out+stderr, "url=1")
	for _, f := range skipped {
		if !strings.Contains(out, "warning: skipped "+strconv.Quote(f)+": ") {
			t.Errorf("init does not warn that it skipped %q: %q", f, out)
		}
	}
	if !strings.Contains(out, strconv.Quote(kept[2])) {
		t.Errorf("init does not show %q escaped: %q", kept[2], out)
	}

	file := filepath.Join(dir, "larder.toml")
	cfg, err := config.Load(file, false)
	if err != nil {
		t.Fatal(err)
	}
	got := append(append([]string{}, cfg.Project.Requirements...), cfg.Project.Constraints...)
	slices.Sort(got)
	if !slices.Equal(got, kept) {
		t.Errorf("larder.toml lists %q, want exactly %q", got, kept)
	}
	doc := string(mustRead(t, file))
	if strings.Contains(doc, `\x`) {
		t.Errorf("larder.toml has a \\x escape, which TOML does not have: %q", doc)
	}
	tomllibReads(t, file)
}

// TestInitRefusesAFileNamedWithAControlCharacter: a file named on the
// command line is the user's choice, but one larder.toml or the terminal
// would mangle is refused, named escaped, with what to do, and nothing is
// written.
func TestInitRefusesAFileNamedWithAControlCharacter(t *testing.T) {
	for _, name := range []string{"a\x7fb.txt", "c\nurl=1.txt", "\xff.txt", "\x1b]0;title\x07.txt"} {
		t.Run(strconv.Quote(name), func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{name: "six\n"})
			code, out, stderr := run(t, dir, "init", name)
			if code != 1 || !strings.Contains(stderr, strconv.Quote(name)) || !strings.Contains(stderr, "rename the file") {
				t.Errorf("init %q: exit %d, stderr %q; want exit 1 naming it escaped", name, code, stderr)
			}
			checkTerminalSafe(t, "init's output", out+stderr, "url=1")
			if _, err := os.Lstat(filepath.Join(dir, "larder.toml")); err == nil {
				t.Error("a refused init wrote larder.toml")
			}
		})
	}
}
