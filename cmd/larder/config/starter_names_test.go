package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStarterCommentsCannotSetKeys writes a starter for a uv.lock whose
// extra and group names carry a newline and a larder.toml key: the
// comment that lists what the lock offers keeps each on its line, so the
// starter sets only the keys it writes itself.
func TestStarterCommentsCannotSetKeys(t *testing.T) {
	dir := t.TempDir()
	lock := `version = 1
requires-python = ">=3.11"

[[package]]
name = "web"
version = "1.0"
source = { editable = "." }

[package.optional-dependencies]
"x\nno-binary = [\":all:\"]\n#" = []
test = []

[package.dev-dependencies]
"y\rpre = true\n#" = []
`
	if err := os.WriteFile(filepath.Join(dir, "uv.lock"), []byte(lock), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := Starter(dir, StarterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(st.TOML, "larder.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Project.NoBinary) != 0 || c.Project.Pre {
		t.Errorf("uv.lock's names set no-binary = %q, pre = %v:\n%s", c.Project.NoBinary, c.Project.Pre, st.TOML)
	}
	for _, l := range strings.Split(string(st.TOML), "\n") {
		if strings.HasPrefix(l, "no-binary") || strings.HasPrefix(l, "pre") || strings.ContainsRune(l, '\r') {
			t.Errorf("the starter has the line %q that uv.lock's names made", l)
		}
	}
}
