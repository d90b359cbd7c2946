package pep508

import (
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/parsetest"
)

// fuzzEnvs are evaluated on every parsed marker: a plain target and one
// with an extra and awkward values.
var fuzzEnvs = []Environment{
	{PythonVersion: "3.11", PythonFullVersion: "3.11.7", OSName: "posix", SysPlatform: "linux"},
	{PythonVersion: "3.14", PythonFullVersion: "3.14.0a1", PlatformRelease: "5.15.0-91-generic", Extra: "Dev_Tools"},
}

func FuzzParseRequirement(f *testing.F) {
	for _, s := range realRequirements(f) {
		f.Add(s)
	}
	for _, s := range edxRequirements(f) {
		f.Add(s)
	}
	for _, s := range generatedRequirements(5, 50, nil) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRequirement(s)
		if err != nil {
			if !strings.Contains(err.Error(), "parsing ") {
				t.Errorf("ParseRequirement(%q) error %q does not say what it parsed", s, err)
			}
			return
		}
		parsetest.Reparse(t, "ParseRequirement", s, r, ParseRequirement, sameRequirement)
		for _, env := range fuzzEnvs {
			r.Marker.Evaluate(env)
			r.Marker.EvaluateExtras(env, r.Extras)
		}
	})
}

func FuzzParseMarker(f *testing.F) {
	for _, s := range realMarkers(f) {
		f.Add(s)
	}
	for _, s := range generatedMarkers(6, 100) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMarker(s)
		if err != nil {
			return
		}
		again := parsetest.Reparse(t, "ParseMarker", s, m, ParseMarker, sameMarker)
		for _, env := range fuzzEnvs {
			if m.Evaluate(env) != again.Evaluate(env) {
				t.Fatalf("%q and its String() %q evaluate differently in %v", s, again, env)
			}
		}
		m.EvaluateExtras(fuzzEnvs[0], m.Extras())
	})
}
