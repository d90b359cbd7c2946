package serve

import (
	"bytes"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/wheelhouse"
)

// A wheel's file name may be up to 255 bytes long. The proxy serves and
// caches one whose name leaves no room for a temporary name built from it
// (250 bytes), answers its PEP 658 sidecar's URL (the name and
// ".metadata", 259 bytes), and serves the wheel again from its cache with
// the upstream gone. (pip itself cannot install it: it saves the sidecar
// under the wheel's name and ".metadata", past the file-name limit.)
func TestProxyCachesAWheelWithA250ByteFileName(t *testing.T) {
	// A project name is at most 200 bytes here; a local version makes up
	// the rest, as a long tag set would.
	name := strings.Repeat("a", 180)
	version := "1.0+" + strings.Repeat("b", 48)
	wheel := name + "-" + version + "-py3-none-any.whl"
	if len(wheel) != 250 {
		t.Fatalf("the wheel's name is %d bytes", len(wheel))
	}
	up := pypitest.Start(t, &pypitest.Index{Projects: []pypitest.Project{{Name: name, Releases: []pypitest.Release{release(version)}}}})
	files := filesOf(t, up, nil, name)
	if len(files) != 1 || files[0].Filename != wheel {
		t.Fatalf("the upstream has %v", files)
	}
	st := originStore(t)
	cache := t.TempDir()
	var log testLog
	s, base := startServer(t, st, WithUpstream(up.URL()), WithCacheDir(cache), WithLogger(log.logger()))
	fileURL := base + "/files/" + url.PathEscape(wheel)

	resp, body := get(t, base+"/simple/"+name+"/")
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(url.PathEscape(wheel))) {
		t.Fatalf("the project page: %s, links %s: %t", resp.Status, wheel, bytes.Contains(body, []byte(url.PathEscape(wheel))))
	}
	if resp, _ := get(t, fileURL+".metadata"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET of the sidecar's URL: %s", resp.Status)
	}
	if resp, body := get(t, fileURL); resp.StatusCode != http.StatusOK || !bytes.Equal(body, files[0].Data) {
		t.Fatalf("GET through the upstream: %s, the upstream's bytes: %t", resp.Status, bytes.Equal(body, files[0].Data))
	}
	if st := s.Stats(); st.FilesCached != 1 {
		t.Errorf("the proxy cached %d files, want 1; its log:\n%s", st.FilesCached, log.String())
	}
	gone := up.URL()
	up.Close()

	_, base2 := startServer(t, st, WithUpstream(gone), WithCacheDir(cache))
	if resp, body := get(t, base2+"/files/"+url.PathEscape(wheel)); resp.StatusCode != http.StatusOK || !bytes.Equal(body, files[0].Data) {
		t.Errorf("GET from the cache with the upstream stopped: %s, the upstream's bytes: %t", resp.Status, bytes.Equal(body, files[0].Data))
	}
	cs, err := wheelhouse.Open(cache)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cs.Lookup(wheel); !ok {
		t.Errorf("%s is not in the cache's manifest", wheel)
	}
	ents, err := os.ReadDir(cs.Path(""))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if wheelhouse.IsTemporary(e.Name()) {
			t.Errorf("the cache holds a temporary file %s", e.Name())
		}
	}
}
