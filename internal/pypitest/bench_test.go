package pypitest

import (
	"net/http/httptest"
	"testing"
)

func BenchmarkBuildWheel1MiB(b *testing.B) {
	p := &Project{Name: "bench", Releases: []Release{{Version: "1.0", Requires: []string{"a>=1", `b; extra == "x"`}}}}
	b.SetBytes(1 << 20)
	for b.Loop() {
		if _, err := BuildWheel(p, &p.Releases[0], Wheel{Tags: "py3-none-any", Size: 1 << 20}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildSdist1MiB(b *testing.B) {
	p := &Project{Name: "bench", Releases: []Release{{Version: "1.0", Sdist: true, SdistSize: 1 << 20}}}
	b.SetBytes(1 << 20)
	for b.Loop() {
		if _, err := BuildSdist(p, &p.Releases[0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkProjectPageJSON(b *testing.B) {
	p := Project{Name: "many"}
	for i := range 100 {
		p.Releases = append(p.Releases, Release{Version: "1." + string(rune('0'+i/10)) + string(rune('0'+i%10)), Wheels: []Wheel{{Tags: "py3-none-any"}, {Tags: "cp311-cp311-manylinux_2_17_x86_64"}}})
	}
	s := New(&Index{Projects: []Project{p}})
	if s.Err() != nil {
		b.Fatal(s.Err())
	}
	for b.Loop() {
		req := httptest.NewRequest("GET", "/simple/many/", nil)
		req.Header.Set("Accept", pipAccept)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
