package reqfile

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// wildRoot holds requirement files written by other tools (provenance in
// its README).
const wildRoot = "../../testdata/reqfile/wild"

func TestParseReadsWhyAPinIsThereAsEachToolWritesIt(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string
		pin  string
		want []string
	}{
		{"rye writes one via line per reason", "rye-requirements-dev.lock", "typing-extensions", []string{"pydantic", "pydantic-core"}},
		{"rye's single via line", "rye-requirements-dev.lock", "aiohttp", []string{"discord-py"}},
		{"rye's pin with no reason", "rye-requirements-dev.lock", "wakeonlan", nil},
		{"uv pip compile's via list", "uv-pip-compile-trio.txt", "jinja2", []string{"sphinx", "towncrier"}},
		{"uv pip compile's single via line", "uv-pip-compile-trio.txt", "attrs", []string{"outcome"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFile(filepath.Join(wildRoot, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if r := findReq(t, f.Requirements, tc.pin); !reflect.DeepEqual(r.ViaNames, tc.want) {
				t.Errorf("%s via %q, want %q", tc.pin, r.ViaNames, tc.want)
			}
		})
	}
}

func TestParseAgreesWithPipOnWildFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("runs pip")
	}
	ents, err := os.ReadDir(wildRoot)
	if err != nil {
		t.Fatal(err)
	}
	var cases []pipCase
	for _, e := range ents {
		if e.Name() == "README.md" {
			continue
		}
		// pip checks that an editable's folder holds a project.
		dir := filepath.Join(t.TempDir(), e.Name())
		writeTree(t, dir, map[string]string{"pyproject.toml": "[project]\nname = \"stub\"\nversion = \"1\"\n"})
		copyTree(t, wildRoot, dir)
		cases = append(cases, pipCase{File: filepath.Join(dir, e.Name()), Cwd: dir})
	}
	for i, r := range runPip(t, cases) {
		comparePip(t, filepath.Base(cases[i].File), cases[i], r)
	}
}
