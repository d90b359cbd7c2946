package wheelhouse_test

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/wheelhousetest"
	"github.com/larder-build/larder/wheelhouse"
)

func hexSHA(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// storeWith makes a store holding real pypitest distributions, written the
// way fetch writes them: file, sidecar for wheels, entry, manifest; no
// static index.
func storeWith(t *testing.T, files ...*pypitest.File) *wheelhouse.Store {
	t.Helper()
	s, err := wheelhouse.Create(wheelhousetest.Dir(t))
	if err != nil {
		t.Fatal(err)
	}
	wheelhousetest.Put(t, s, files...)
	return s
}

// build builds the small distributions of one release uploaded at noon
// on 1 May 2024.
func build(t *testing.T, project, version, requiresPython string, sdist bool, tags ...string) []*pypitest.File {
	t.Helper()
	return wheelhousetest.Release(t, project, pypitest.Release{Version: version, RequiresPython: requiresPython, Sdist: sdist,
		UploadTime: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}, 0, tags...)
}
