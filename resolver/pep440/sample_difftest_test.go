//go:build difftest

package pep440

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The sample's freshness can only be judged against the package list it
// was drawn from, which lives outside the project: 'make difftest' (with
// -tags difftest) runs this check where that list exists.

func renderSample(column []string) string {
	var b strings.Builder
	b.WriteString("# PEP 440 differential-test sample; regenerate with\n")
	b.WriteString("# LARDER_PEP440_REGENERATE=1 go test ./resolver/pep440 -run TestSampleIsCurrent\n")
	fmt.Fprintf(&b, "# every %dth version of the PyPI package list (%d rows), Go-quoted:\n", sampleStride, len(column))
	for i := 0; i < len(column); i += sampleStride {
		b.WriteString(strconv.Quote(column[i]))
		b.WriteByte('\n')
	}
	b.WriteString("# hand-picked edge cases (edgeVersions in edges_test.go):\n")
	for _, s := range edgeVersions() {
		b.WriteString(strconv.Quote(s))
		b.WriteByte('\n')
	}
	return b.String()
}

func TestSampleIsCurrent(t *testing.T) {
	column, err := readPyPIVersions(pypiList)
	if err != nil {
		t.Skipf("package list not available: %v", err)
	}
	want := renderSample(column)
	if os.Getenv("LARDER_PEP440_REGENERATE") == "1" {
		if err := os.MkdirAll(filepath.Dir(samplePath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(samplePath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatalf("reading the sample: %v", err)
	}
	// A package list of another day has other rows: only the one the
	// sample was drawn from can say whether it is stale.
	if !strings.Contains(string(got), fmt.Sprintf("(%d rows)", len(column))) {
		t.Skipf("the package list has %d rows, not the ones the sample was drawn from", len(column))
	}
	if string(got) != want {
		t.Errorf("%s is stale: regenerate it with LARDER_PEP440_REGENERATE=1", samplePath)
	}
}
