package wheelhouse_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/larder-build/larder/wheelhouse"
)

func TestStoreVerifyReportsEveryDepartureFromTheManifest(t *testing.T) {
	wheel := "demo-1.0-py3-none-any.whl"
	tests := []struct {
		name   string
		damage func(t *testing.T, s *wheelhouse.Store)
		kind   wheelhouse.ProblemKind
		file   string
	}{
		{"nothing wrong", func(*testing.T, *wheelhouse.Store) {}, "", ""},
		{"a file cut short", func(t *testing.T, s *wheelhouse.Store) {
			if err := os.Truncate(s.Path(wheel), 10); err != nil {
				t.Fatal(err)
			}
		}, wheelhouse.ProblemCorrupt, wheel},
		{"a file with other bytes of the same size", func(t *testing.T, s *wheelhouse.Store) {
			b, _ := os.ReadFile(s.Path("demo-1.0.tar.gz"))
			b[len(b)/2] ^= 1
			mustWrite(t, s.Path("demo-1.0.tar.gz"), b)
		}, wheelhouse.ProblemCorrupt, "demo-1.0.tar.gz"},
		{"a file gone", func(t *testing.T, s *wheelhouse.Store) {
			if err := os.Remove(s.Path("demo-1.0.tar.gz")); err != nil {
				t.Fatal(err)
			}
		}, wheelhouse.ProblemMissing, "demo-1.0.tar.gz"},
		{"a sidecar gone", func(t *testing.T, s *wheelhouse.Store) {
			if err := os.Remove(s.MetadataPath(wheel)); err != nil {
				t.Fatal(err)
			}
		}, wheelhouse.ProblemMetadata, wheel},
		{"a sidecar and manifest that agree with each other but not the wheel", func(t *testing.T, s *wheelhouse.Store) {
			other := []byte("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n")
			mustWrite(t, s.MetadataPath(wheel), other)
			e, _ := s.Lookup(wheel)
			e.MetadataSHA256 = hexSHA(other)
			if err := s.Put(e); err != nil {
				t.Fatal(err)
			}
		}, wheelhouse.ProblemMetadata, wheel},
		{"a stray distribution", func(t *testing.T, s *wheelhouse.Store) {
			mustWrite(t, s.Path("stray-2.0-py3-none-any.whl"), []byte("x"))
		}, wheelhouse.ProblemUnexpected, "stray-2.0-py3-none-any.whl"},
		{"a sidecar of no wheel", func(t *testing.T, s *wheelhouse.Store) {
			mustWrite(t, s.Path("stray-2.0-py3-none-any.whl.metadata"), []byte("x"))
		}, wheelhouse.ProblemUnexpected, "stray-2.0-py3-none-any.whl.metadata"},
		{"a temporary file of an interrupted write", func(t *testing.T, s *wheelhouse.Store) {
			mustWrite(t, s.Path(".demo-1.0.tar.gz.tmp-42"), []byte("x"))
		}, wheelhouse.ProblemUnexpected, ".demo-1.0.tar.gz.tmp-42"},
		{"a folder", func(t *testing.T, s *wheelhouse.Store) {
			if err := os.Mkdir(s.Path("junk"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, wheelhouse.ProblemNotRegular, "junk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := storeWith(t, build(t, "demo", "1.0", ">=3.8", true, "py3-none-any")...)
			tt.damage(t, s)
			r, err := s.Verify(context.Background(), 2)
			if err != nil {
				t.Fatal(err)
			}
			if tt.kind == "" {
				if len(r.Problems) != 0 || r.Files != 2 || r.Bytes == 0 {
					t.Errorf("sound store: %+v", r)
				}
				return
			}
			if len(r.Problems) != 1 || r.Problems[0].Kind != tt.kind || r.Problems[0].File != tt.file || r.Problems[0].Detail == "" {
				t.Fatalf("problems %+v, want one %s for %s", r.Problems, tt.kind, tt.file)
			}
			if !r.Failed(false) {
				t.Errorf("a %s problem does not fail verification", tt.kind)
			}
		})
	}
}

func TestOnlyStaleProblemsPassUnlessStrict(t *testing.T) {
	r := &wheelhouse.VerifyReport{}
	r.Add(wheelhouse.ProblemStale, "a.whl", "old")
	if r.Failed(false) || !r.Failed(true) {
		t.Errorf("stale: Failed(false)=%v Failed(true)=%v", r.Failed(false), r.Failed(true))
	}
	r.Add(wheelhouse.ProblemUnexpected, "b.whl", "stray")
	r.Add(wheelhouse.ProblemMissing, "c.whl", "gone")
	r.Sort()
	if r.Problems[0].Kind != wheelhouse.ProblemMissing || r.Problems[2].Kind != wheelhouse.ProblemStale || !r.Failed(false) {
		t.Errorf("sorted %+v", r.Problems)
	}
}

func mustWrite(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
