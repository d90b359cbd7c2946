package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const full = `[project]
requirements = ["requirements/edx/base.txt"]
constraints  = ["requirements/constraints.txt"]
lock = "pylock.toml"

[index]
url = "https://pypi.org/simple/"
private = ["edx-private-*"]

[[target]]
platform = "linux/amd64"
python = "3.11"
libc = "glibc2.36"

[[target]]
platform = "linux/arm64"
python = "3.12"

[wheelhouse]
dir = ".larder/wheelhouse"

[image]
base = "docker://docker.io/openedx/lms-dev:latest"
output = "docker://registry.example.com/openedx/lms-dev:larder"
path = "/wheelhouse"
`

// mustParse parses a larder.toml's text.
func mustParse(t *testing.T, text string) *Config {
	t.Helper()
	c, err := Parse([]byte(text), "larder.toml")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestParseReadsTheDocumentedSchema(t *testing.T) {
	c := mustParse(t, full)
	ts, err := c.ParsedTargets()
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[0].String() != "linux/amd64:3.11:glibc2.36" || ts[1].String() != "linux/arm64:3.12:glibc2.35" {
		t.Errorf("targets = %v", ts)
	}
	if c.Project.Requirements[0] != "requirements/edx/base.txt" || c.Index.Private[0] != "edx-private-*" || c.Image.Path != "/wheelhouse" {
		t.Errorf("decoded %+v", c)
	}
}

func TestParseKeepsDefaultsForMissingKeys(t *testing.T) {
	c := mustParse(t, "[project]\nrequirements = [\"r.txt\"]\n")
	d := Default()
	if c.Project.Lock != d.Project.Lock || c.Index.URL != d.Index.URL || c.Wheelhouse.Dir != d.Wheelhouse.Dir || len(c.Targets) != 1 {
		t.Errorf("got %+v, want defaults", c)
	}
}

func TestParseErrorsNameFileLineAndKey(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"unknown key", "[project]\nrequirments = [\"a.txt\"]\n",
			[]string{"larder.toml:2:", "project.requirments", "unknown key", "requirements"}},
		{"unknown table", "[projet]\nlock = \"x\"\n",
			[]string{"larder.toml:1:", "projet", "unknown key", "known keys at the top level"}},
		{"wrong type", "[project]\n\nrequirements = \"base.txt\"\n",
			[]string{"larder.toml:3:", "project.requirements", "is a string, but must be an array of strings"}},
		{"wrong type bool", "[project]\npre = \"yes\"\n",
			[]string{"larder.toml:2:", "project.pre", "is a string, but must be true or false"}},
		{"bad platform", "[[target]]\nplatform = \"linux/amd64\"\npython = \"3.11\"\n\n[[target]]\nplatform = \"linux/sparc\"\npython = \"3.11\"\n",
			[]string{"larder.toml:6:", "target[1].platform", "unknown architecture", `"linux/sparc"`}},
		{"bad python", "[[target]]\nplatform = \"linux/amd64\"\npython = \"3\"\n",
			[]string{"larder.toml:3:", "target[0].python", "MAJOR.MINOR"}},
		{"bad libc", "[[target]]\nplatform = \"linux/amd64\"\npython = \"3.11\"\nlibc = \"uclibc1\"\n",
			[]string{"larder.toml:4:", "target[0].libc", "glibcMAJOR.MINOR"}},
		{"bad url", "[index]\nurl = \"pypi.org\"\n",
			[]string{"larder.toml:2:", "index.url", "not an index URL"}},
		{"a file url, which lock cannot read", "[index]\nextra-urls = [\"file:///srv/simple/\"]\n",
			[]string{"larder.toml:2:", "index.extra-urls[0]", "not an index URL", "over HTTP"}},
		{"bad glob", "[index]\nprivate = [\"ok-*\",\n  \"[broken\"]\n",
			[]string{"larder.toml:3:", "index.private[1]", "not a valid glob"}},
		{"bad image ref", "[image]\nbase = \"ubuntu:22.04\"\n",
			[]string{"larder.toml:2:", "image.base", "docker://"}},
		{"relative image path", "[image]\npath = \"wheelhouse\"\n",
			[]string{"larder.toml:2:", "image.path", "absolute"}},
		{"syntax", "[project\n", []string{"larder.toml:1:"}},
		{"cache without transport", "[cache]\nregistry = \"ghcr.io/acme/larder\"\n",
			[]string{"larder.toml:2:", "cache.registry", "docker://REGISTRY/REPO or oci:DIR"}},
		{"cache with a tag", "[cache]\n\nregistry = \"docker://ghcr.io/acme/larder:main\"\n",
			[]string{"larder.toml:3:", "cache.registry", "without a tag"}},
		{"cache oci without folder", "[cache]\nregistry = \"oci:\"\n",
			[]string{"larder.toml:2:", "cache.registry", "needs a folder"}},
		{"cache push without registry", "[cache]\npush = true\n",
			[]string{"larder.toml:2:", "cache.push", "needs cache.registry"}},
		{"cache unknown key", "[cache]\nregistery = \"docker://ghcr.io/acme/larder\"\n",
			[]string{"larder.toml:2:", "cache.registery", "unknown key", "registry"}},
		{"duplicate target", "[[target]]\nplatform = \"linux/amd64\"\npython = \"3.11\"\n[[target]]\nplatform = \"linux/amd64\"\npython = \"3.11\"\n",
			[]string{"larder.toml:4:", "target[1]", "duplicates target[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc), "larder.toml")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadResolvesRelativePathsAgainstTheConfigFolder(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "sub", "larder.toml")
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(full), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(name, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Path(c.Project.Lock), filepath.Join(dir, "sub", "pylock.toml"); got != want {
		t.Errorf("lock path = %s, want %s", got, want)
	}
	if got := c.Path("/abs/x"); got != "/abs/x" {
		t.Errorf("absolute path changed to %s", got)
	}
}

func TestLoadOptionalMissingFileGivesDefaults(t *testing.T) {
	c, err := Load(filepath.Join(t.TempDir(), "larder.toml"), true)
	if err != nil || c.File != "" || c.Index.URL == "" {
		t.Fatalf("got %+v, %v", c, err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "larder.toml"), false); err == nil {
		t.Fatal("a missing explicit config must be an error")
	}
}

func TestEncodeRoundTrips(t *testing.T) {
	c := mustParse(t, full)
	b, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Parse(b, "encoded.toml")
	if err != nil {
		t.Fatalf("re-parsing encoded config: %v\n%s", err, b)
	}
	b2, _ := c2.Encode()
	if string(b) != string(b2) {
		t.Errorf("encoding is not stable:\n%s\n---\n%s", b, b2)
	}
}

func TestParseReadsTheCacheTable(t *testing.T) {
	c := mustParse(t, "[cache]\nregistry = \"docker://127.0.0.1:5000/acme/larder\"\npush = true\ninsecure = true\n")
	if want := (Cache{Registry: "docker://127.0.0.1:5000/acme/larder", Push: true, Insecure: true}); c.Cache != want {
		t.Fatalf("cache %+v, want %+v", c.Cache, want)
	}
}
