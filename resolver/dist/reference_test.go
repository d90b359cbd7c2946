package dist

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/pyref"
)

// reference sends one request to testdata/dist/reference.py, which answers
// with pip 23.2's own functions and its vendored packaging 21.3, and decodes
// the answer into resp.
func reference(t *testing.T, req any, resp any) {
	t.Helper()
	out, err := pyref.Ask[any, json.RawMessage](t, []any{req}, "../../testdata/dist/reference.py")
	if err != nil {
		t.Fatalf("running reference.py: %v", err)
	}
	if len(out) != 1 {
		t.Fatalf("reference.py gave %d answers to one request", len(out))
	}
	if err := json.Unmarshal(out[0], resp); err != nil {
		t.Fatalf("reading reference.py output: %v", err)
	}
}

// referenceResults asks reference.py's op about inputs, sent under key, and
// returns its result for each.
func referenceResults[I, R any](t *testing.T, op, key string, inputs []I) []R {
	t.Helper()
	var resp struct{ Results []R }
	reference(t, map[string]any{"op": op, key: inputs}, &resp)
	if len(resp.Results) != len(inputs) {
		t.Fatalf("reference answered %d of %d", len(resp.Results), len(inputs))
	}
	return resp.Results
}

// pypiSample returns the name and version columns of
// testdata/dist/pypi-sample.tsv: real projects and their latest versions.
func pypiSample(t *testing.T) (names, versions []string) {
	t.Helper()
	f, err := os.Open("../../testdata/dist/pypi-sample.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		name, version, _ := strings.Cut(line, "\t")
		names = append(names, name)
		versions = append(versions, version)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return names, versions
}
