package index

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
)

// TestMetadataOfAnSdistWithA250ByteFileName: an sdist's metadata is read
// from the whole file, downloaded to a temporary file; an sdist whose
// name takes 250 bytes (a file name may take 255) is read like any other,
// and the temporary file is gone afterwards.
func TestMetadataOfAnSdistWithA250ByteFileName(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	name := strings.Repeat("a", 180)
	version := "1.0+" + strings.Repeat("b", 58)
	sdist := name + "-" + version + ".tar.gz"
	if len(sdist) != 250 {
		t.Fatalf("the sdist's name is %d bytes", len(sdist))
	}
	srv := pypitest.Start(t, &pypitest.Index{Projects: []pypitest.Project{{Name: name, Releases: []pypitest.Release{{Version: version, Sdist: true}}}}})
	c := newClient(t, []string{srv.URL()})
	p, err := c.Project(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Files) != 1 || p.Files[0].Filename != sdist {
		t.Fatalf("the page lists %+v", p.Files)
	}
	md, err := c.Metadata(context.Background(), p.Files[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "Name: "+name) || c.Stats().FullDownloads != 1 {
		t.Errorf("stats %+v, metadata %s", c.Stats(), md)
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("the download left %v in the temporary folder", left)
	}
}
