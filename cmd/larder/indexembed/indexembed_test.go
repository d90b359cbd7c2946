package indexembed

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// embedded is a bin/ folder as make build leaves it: a gzipped binary per
// platform, with its sha256 beside it when sum is set.
func embedded(t *testing.T, bins map[string][]byte, sum bool) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, data := range bins {
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(data)
		zw.Close()
		fsys["bin/"+prefix+name+suffix] = &fstest.MapFile{Data: gz.Bytes()}
		if sum {
			fsys["bin/"+prefix+name+sumSuffix] = &fstest.MapFile{Data: []byte(hexSum(data) + " " + hexSum(gz.Bytes()) + "\n")}
		}
	}
	return fsys
}

func hexSum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestExtractWritesTheEmbeddedBytesAndReusesOnlyAnIntactFile(t *testing.T) {
	bins := map[string][]byte{"linux-amd64": bytes.Repeat([]byte("amd64 "), 5000), "linux-arm64": bytes.Repeat([]byte("arm64 "), 7000)}
	for _, c := range []struct {
		name string
		fsys fstest.MapFS
	}{
		{"with the embedded sha256", embedded(t, bins, true)},
		{"without it", embedded(t, bins, false)},
		{"with a sha256 of another build", func() fstest.MapFS {
			f := embedded(t, bins, false)
			f["bin/"+prefix+"linux-amd64"+sumSuffix] = &fstest.MapFile{Data: []byte(hexSum([]byte("older")) + " " + hexSum([]byte("older.gz")))}
			return f
		}()},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			check := func(what string) map[string]string {
				t.Helper()
				paths, err := extractAll(c.fsys, dir)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if len(paths) != 2 {
					t.Fatalf("%s: %v, want both platforms", what, paths)
				}
				for p, path := range paths {
					name := "linux-" + filepath.Base(p)
					got, err := os.ReadFile(path)
					if err != nil || !bytes.Equal(got, bins[name]) {
						t.Errorf("%s: %s holds other bytes than the embedded %s (%v)", what, path, name, err)
					}
					if filepath.Base(filepath.Dir(path)) != hexSum(bins[name]) {
						t.Errorf("%s: %s is not in a folder named by its sha256", what, path)
					}
					if st, err := os.Stat(path); err != nil || st.Mode().Perm()&0o100 == 0 {
						t.Errorf("%s: %s is not executable: %v", what, path, err)
					}
				}
				return paths
			}
			paths := check("first extraction")
			st, _ := os.Stat(paths["linux/amd64"])
			check("second extraction")
			if again, _ := os.Stat(paths["linux/amd64"]); !os.SameFile(st, again) {
				t.Errorf("an intact extracted file was written again")
			}
			// A file changed in the cache is not the embedded binary: it is
			// replaced.
			if err := os.WriteFile(paths["linux/amd64"], []byte("tampered"), 0o755); err != nil {
				t.Fatal(err)
			}
			check("extraction over a changed file")
		})
	}
}

func TestExtractRefusesAnEmbeddedSumThatIsNotOne(t *testing.T) {
	fsys := embedded(t, map[string][]byte{"linux-amd64": []byte("bin")}, false)
	fsys["bin/"+prefix+"linux-amd64"+sumSuffix] = &fstest.MapFile{Data: []byte("not a sum\n")}
	if _, err := extractAll(fsys, t.TempDir()); err == nil {
		t.Fatal("extracted with a malformed embedded sha256")
	}
}

// TestExtractTrustsNoSumLeftBesideAnotherBuildsBinary: a build cut short
// left the sums of an older binary beside a newer .gz, and the older
// binary is in the cache under its sum: the newer embedded bytes are
// extracted, not the older file reused.
func TestExtractTrustsNoSumLeftBesideAnotherBuildsBinary(t *testing.T) {
	older, newer := []byte("older larder-index"), []byte("newer larder-index")
	stale := embedded(t, map[string][]byte{"linux-amd64": older}, true)
	fsys := embedded(t, map[string][]byte{"linux-amd64": newer}, false)
	fsys["bin/"+prefix+"linux-amd64"+sumSuffix] = stale["bin/"+prefix+"linux-amd64"+sumSuffix]
	dir := t.TempDir()
	if _, err := extractAll(stale, dir); err != nil {
		t.Fatal(err)
	}
	paths, err := extractAll(fsys, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(paths["linux/amd64"]); err != nil || !bytes.Equal(got, newer) {
		t.Errorf("extracted %q (%v), want the embedded %q", got, err, newer)
	}
}
