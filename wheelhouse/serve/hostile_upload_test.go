package serve

import (
	"net/http"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
)

// TestUploadsUnderFileNamesThatAreNotPlainAreRefused: a file name is
// shown on pages and written to disk, so an upload whose name holds a
// look-alike letter, a bidi override, markup or a space is refused, even
// when its metadata agrees with it, and nothing is stored.
func TestUploadsUnderFileNamesThatAreNotPlainAreRefused(t *testing.T) {
	dir, _, base := uploadServer(t)
	w := projectWheel(t, "acme-tools", "1.0", 0)
	renamed := func(name string) *pypitest.File { c := *w; c.Filename = name; return &c }
	sdist := func(version string) *pypitest.File {
		p := &pypitest.Project{Name: "acme-tools", Releases: []pypitest.Release{release(version)}}
		f, err := pypitest.BuildSdist(p, &p.Releases[0])
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	for _, c := range []struct {
		name string
		file *pypitest.File
	}{
		{"a Cyrillic letter in a tag", renamed("acme_tools-1.0-py3-none-an\u04af.whl")},
		{"a right-to-left override", renamed("acme_tools-1.0-py3-none-any\u202e.whl")},
		{"markup in a tag", renamed("acme_tools-1.0-py3-none-<b>any</b>.whl")},
		{"markup in an sdist's version", sdist("1.0<script>")},
		{"a space in an sdist's version", sdist("1.0 beta")},
		{"a zero-width space in an sdist's version", sdist("1.0\u200b")},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body, err := postUpload(t, base, c.file, nil, "alice", "pw")
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("uploading %q: %d (%s), want 400", c.file.Filename, resp.StatusCode, body)
			}
			if onDisk, listed := storedFiles(t, dir); len(onDisk) != 0 || len(listed) != 0 {
				t.Errorf("a refused upload left files %q, entries %q", onDisk, listed)
			}
		})
	}
	// A plain name of the same wheel is taken.
	mustUpload(t, base, w, "alice", "pw")
}
