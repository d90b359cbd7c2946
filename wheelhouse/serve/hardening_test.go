package serve

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/larder-build/larder/wheelhouse"
)

// TestServersNeverServeALinkOutOfTheWheelhouse replaces a baked wheel (and
// a sidecar) by a symbolic link to a same-size file outside the wheelhouse,
// before the server starts and while it runs: neither is ever served.
func TestServersNeverServeALinkOutOfTheWheelhouse(t *testing.T) {
	for _, when := range []string{"before start", "while serving"} {
		t.Run(strings.ReplaceAll(when, " ", "_"), func(t *testing.T) {
			st, _ := smallStore(t)
			e, ok := st.Lookup("alpha_tools-1.1-py3-none-any.whl")
			if !ok {
				t.Fatal("no alpha_tools 1.1 wheel baked")
			}
			outside := t.TempDir()
			secret := bytes.Repeat([]byte("S"), int(e.Size))
			link := func(name string, data []byte) {
				t.Helper()
				target := filepath.Join(outside, name)
				if err := os.WriteFile(target, data, 0o644); err != nil {
					t.Fatal(err)
				}
				p := filepath.Join(st.Dir(), wheelhouse.FilesDir, name)
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(target, p); err != nil {
					t.Fatal(err)
				}
			}
			md, err := os.ReadFile(st.MetadataPath(e.Filename))
			if err != nil {
				t.Fatal(err)
			}
			swap := func() {
				link(e.Filename, secret)
				link(e.Filename+".metadata", bytes.ToUpper(md)) // same size too
			}
			log := &testLog{}
			if when == "before start" {
				swap()
			}
			_, base := startServer(t, st, WithLogger(log.logger()))
			if when == "while serving" {
				swap()
			}
			for _, name := range []string{e.Filename, e.Filename + ".metadata"} {
				for _, hdr := range []string{"", "Range: bytes=0-3"} {
					resp, body := get(t, base+"/files/"+name, hdr)
					if resp.StatusCode/100 == 2 || bytes.Contains(body, []byte("SSSS")) || resp.Header.Get("Cache-Control") == immutable {
						t.Errorf("%s %q: %d %.16q, Cache-Control %q: a link out of the wheelhouse was served",
							name, hdr, resp.StatusCode, body, resp.Header.Get("Cache-Control"))
					}
				}
			}
			if !strings.Contains(log.String(), "link") {
				t.Errorf("no log line names the link:\n%s", log)
			}
			// The other files are still served.
			other := "beta-2.0-py3-none-any.whl"
			if resp, _ := get(t, base+"/files/"+other); resp.StatusCode != http.StatusOK {
				t.Errorf("%s: %d", other, resp.StatusCode)
			}
		})
	}
}

// TestFallThroughCacheKeepsNoSidecarWithoutItsWheel reads an upstream
// wheel's metadata, as pip does before choosing, then has the wheel's
// download cut short: the cache keeps nothing that verify would report.
// The complete download then keeps the wheel with its sidecar.
func TestFallThroughCacheKeepsNoSidecarWithoutItsWheel(t *testing.T) {
	f := startFallThrough(t, truncateWant)
	base, up, want, cache := f.base, f.up, f.want, f.cache
	if resp, md := get(t, base+"/files/"+want.Filename+".metadata"); resp.StatusCode != http.StatusOK || sha256Of(md) != want.MetadataSHA256 {
		t.Fatalf("metadata: %d", resp.StatusCode)
	}
	if resp, err := http.Get(base + "/files/" + want.Filename); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	verifyClean := func(wantFiles int) {
		t.Helper()
		cs, err := wheelhouse.Open(cache)
		if err != nil {
			t.Fatal(err)
		}
		r, err := cs.Verify(context.Background(), 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range r.Problems {
			t.Errorf("verify of the cache: %s: %s", p.File, p.Detail)
		}
		if r.Files != wantFiles {
			t.Errorf("verify checked %d files, want %d", r.Files, wantFiles)
		}
		left, _ := filepath.Glob(filepath.Join(cache, wheelhouse.FilesDir, "*"))
		if len(left) != 2*wantFiles {
			t.Errorf("cache holds %v", left)
		}
	}
	verifyClean(0)
	// The metadata read earlier is still answered, and the complete
	// download keeps the wheel with the sidecar, from one metadata fetch.
	up.SetTruncate(want.Filename, -1)
	if resp, md := get(t, base+"/files/"+want.Filename+".metadata"); resp.StatusCode != http.StatusOK || sha256Of(md) != want.MetadataSHA256 {
		t.Fatalf("metadata again: %d", resp.StatusCode)
	}
	if resp, body := get(t, base+"/files/"+want.Filename); resp.StatusCode != http.StatusOK || sha256Of(body) != want.SHA256 {
		t.Fatalf("wheel: %d", resp.StatusCode)
	}
	verifyClean(1)
	if n := up.Requests("/files/" + want.Filename + ".metadata"); n != 1 {
		t.Errorf("the upstream served the metadata %d times, want once", n)
	}
}

// TestTheFallThroughCacheIsAWriterOfItsStore: while a server keeps its
// fall-through files in a folder, gc of that folder is refused and another
// writer leaves the server's temporary files alone; when the server
// closes, gc may run.
func TestTheFallThroughCacheIsAWriterOfItsStore(t *testing.T) {
	cache := t.TempDir()
	st, err := wheelhouse.Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(st, WithOffline(true), WithCacheDir(cache))
	if err != nil {
		t.Fatal(err)
	}
	// A download in progress: the server's temporary file.
	inFlight := filepath.Join(cache, wheelhouse.FilesDir, ".x-1.0-py3-none-any.whl.123.tmp")
	if err := os.WriteFile(inFlight, []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	other, err := wheelhouse.Open(cache)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.LockExclusive(); err == nil {
		t.Fatal("gc of the cache was allowed while the server writes it")
	}
	release, err := other.BeginWrite(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	release()
	if _, err := os.Stat(inFlight); err != nil {
		t.Errorf("another writer removed the live server's temporary file: %v", err)
	}
	s.Close()
	unlock, err := other.LockExclusive()
	if err != nil {
		t.Fatalf("gc after the server closed: %v", err)
	}
	unlock()
}
