package wheelhouse

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/pypitest"
)

func hexSHA(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// storeWith makes a store holding real pypitest distributions, written the
// way fetch writes them: file, sidecar for wheels, entry, manifest.
func storeWith(t *testing.T, files ...*pypitest.File) *Store {
	t.Helper()
	s, err := Create(filepath.Join(t.TempDir(), "wh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := os.WriteFile(s.Path(f.Filename), f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		e := Entry{Filename: f.Filename, Project: pypitest.Normalize(f.Project), Version: f.Version, SHA256: f.SHA256,
			Size: int64(f.Size), RequiresPython: f.RequiresPython, UploadTime: f.UploadTime, Origin: Origin{Kind: OriginIndex}}
		if !f.IsSdist {
			if err := os.WriteFile(s.MetadataPath(f.Filename), f.Metadata, 0o644); err != nil {
				t.Fatal(err)
			}
			e.MetadataSHA256 = f.MetadataSHA256
		}
		if err := s.Put(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	return s
}

func build(t *testing.T, project, version, requiresPython string, sdist bool, tags ...string) []*pypitest.File {
	t.Helper()
	p := &pypitest.Project{Name: project}
	r := &pypitest.Release{Version: version, RequiresPython: requiresPython, Sdist: sdist,
		UploadTime: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	var out []*pypitest.File
	for _, tg := range tags {
		f, err := pypitest.BuildWheel(p, r, pypitest.Wheel{Tags: tg})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	if sdist {
		f, err := pypitest.BuildSdist(p, r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	for _, f := range out {
		f.UploadTime = r.UploadTime
		f.RequiresPython = requiresPython
	}
	return out
}
