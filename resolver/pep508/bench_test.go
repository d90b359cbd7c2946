package pep508

import "testing"

func BenchmarkParseRequirement(b *testing.B) {
	reqs := append(realRequirements(b), edxRequirements(b)...)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		ParseRequirement(reqs[i%len(reqs)])
	}
}

func BenchmarkParseMarker(b *testing.B) {
	markers := realMarkers(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		ParseMarker(markers[i%len(markers)])
	}
}

func BenchmarkEvaluateMarker(b *testing.B) {
	var markers []*Marker
	for _, s := range realMarkers(b) {
		m, err := ParseMarker(s)
		if err != nil {
			b.Fatal(err)
		}
		markers = append(markers, m)
	}
	env := linuxEnv(b, "linux/amd64:3.11.7").WithExtra("socks")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		markers[i%len(markers)].Evaluate(env)
	}
}

func BenchmarkEvaluateExtras(b *testing.B) {
	m, err := ParseMarker(`python_version < "3.11" and (extra == "socks" or extra == "test") and platform_python_implementation != "PyPy"`)
	if err != nil {
		b.Fatal(err)
	}
	env := linuxEnv(b, "linux/amd64:3.10")
	extras := []string{"dev", "docs", "test"}
	b.ReportAllocs()
	for b.Loop() {
		m.EvaluateExtras(env, extras)
	}
}
