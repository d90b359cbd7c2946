package dist

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// reference sends one request to testdata/dist/reference.py, which answers
// with pip 23.2's own functions and its vendored packaging 21.3, and decodes
// the answer into resp.
func reference(t *testing.T, req any, resp any) {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: no reference implementation to compare with")
	}
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, "../../testdata/dist/reference.py")
	cmd.Stdin = bytes.NewReader(append(in, '\n'))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("running reference.py: %v\n%s", err, stderr.String())
	}
	if err := json.Unmarshal(out, resp); err != nil {
		t.Fatalf("reading reference.py output: %v", err)
	}
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
	if testing.Short() {
		names, versions = names[:300], versions[:300]
	}
	return names, versions
}
