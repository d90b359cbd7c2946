package pep440

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The differential tests run on testdata/pep440/versions.txt, a committed,
// deterministic sample of the version column of the package list below
// (every sampleStride-th row, so invalid, legacy and epoch versions appear in
// their real proportions) followed by hand-picked edge cases. Each line is a
// Go-quoted string; lines starting with # are comments. With
// LARDER_PEP440_REGENERATE=1, TestSampleIsCurrent rewrites the file.

const (
	pypiList     = "/work/.library/env/packages/pypi.tsv"
	samplePath   = "../../testdata/pep440/versions.txt"
	sampleStride = 44
)

// fullCorpus reports whether the differential tests should run on the whole
// package list rather than the committed sample (make difftest).
func fullCorpus() bool { return os.Getenv("LARDER_DIFFTEST_FULL") == "1" }

// readPyPIVersions returns the version column of the package list, in file
// order, the header skipped.
func readPyPIVersions(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	first := true
	for sc.Scan() {
		if first {
			first = false
			continue
		}
		cols := strings.SplitN(sc.Text(), "\t", 3)
		if len(cols) < 2 {
			continue
		}
		out = append(out, cols[1])
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return out, nil
}

// readSample returns the versions of the committed sample.
func readSample(t testing.TB) []string {
	t.Helper()
	data, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatalf("reading the sample: %v", err)
	}
	var out []string
	for n, line := range strings.Split(string(data), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		s, err := strconv.Unquote(line)
		if err != nil {
			t.Fatalf("%s:%d: %v", samplePath, n+1, err)
		}
		out = append(out, s)
	}
	return out
}

// corpus returns the versions the differential tests run on: the whole
// package list in full mode, else the committed sample.
func corpus(t testing.TB) []string {
	t.Helper()
	if !fullCorpus() {
		return readSample(t)
	}
	vs, err := readPyPIVersions(pypiList)
	if err != nil {
		t.Fatalf("LARDER_DIFFTEST_FULL=1 needs the package list: %v", err)
	}
	return append(vs, edgeVersions()...)
}
