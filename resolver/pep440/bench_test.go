package pep440

import (
	"slices"
	"testing"
)

// benchVersions returns the whole PyPI version column when the package list
// is present, else the committed sample.
func benchVersions(b *testing.B) []string {
	vs, err := readPyPIVersions(pypiList)
	if err != nil {
		return readSample(b)
	}
	return vs
}

func BenchmarkParseAndSortPyPIVersions(b *testing.B) {
	raw := benchVersions(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		vs := make([]Version, 0, len(raw))
		for _, s := range raw {
			if v, err := Parse(s); err == nil {
				vs = append(vs, v)
			}
		}
		slices.SortFunc(vs, Compare)
	}
	b.ReportMetric(float64(len(raw)), "versions/op")
}

func BenchmarkParse(b *testing.B) {
	raw := readSample(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		Parse(raw[i%len(raw)])
		i++
	}
}

func BenchmarkCompare(b *testing.B) {
	vs, _ := validVersions(readSample(b))
	// Random pairs, precomputed so that only Compare is measured.
	const mask = 1<<16 - 1
	pairs := make([][2]Version, mask+1)
	for i := range pairs {
		pairs[i] = [2]Version{vs[(i*7919)%len(vs)], vs[(i*104729+1)%len(vs)]}
	}
	b.ReportAllocs()
	i, n := 0, 0
	for b.Loop() {
		p := &pairs[i&mask]
		n += p[0].Compare(p[1])
		i++
	}
	_ = n
}

func BenchmarkSpecifiersContains(b *testing.B) {
	vs, _ := validVersions(readSample(b))
	ss := MustParseSpecifiers(">=0.1,!=1.3.*,<2.0.post1,~=0.9")
	vs = vs[:1<<14]
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ss.Contains(vs[i&(1<<14-1)], false)
		i++
	}
}
