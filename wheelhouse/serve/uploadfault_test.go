package serve

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"syscall"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
)

// failingDisk is an upload's bytes on a disk whose read number fail
// (Read and ReadAt counted together, from 1) fails with EIO, and every
// later read too when sticky; reads counts them.
type failingDisk struct {
	r      *bytes.Reader
	fail   int
	sticky bool
	reads  int
}

func (d *failingDisk) failing() bool {
	d.reads++
	return d.fail > 0 && (d.reads == d.fail || d.sticky && d.reads > d.fail)
}

func (d *failingDisk) Read(p []byte) (int, error) {
	if d.failing() {
		return 0, &fs.PathError{Op: "read", Path: "upload", Err: syscall.EIO}
	}
	return d.r.Read(p)
}

func (d *failingDisk) ReadAt(p []byte, off int64) (int, error) {
	if d.failing() {
		return 0, &fs.PathError{Op: "read", Path: "upload", Err: syscall.EIO}
	}
	return d.r.ReadAt(p, off)
}

// TestEveryFailedReadOfAnUploadIsTheServersFault reads a wheel, a zip
// sdist and a tar.gz sdist on a disk that fails one read, each read in
// turn (and that read and every later one): whatever the archive
// readers make of it, the answer is the server's fault (a 500), never a
// refusal of the upload, nor an upload accepted on bytes never read.
func TestEveryFailedReadOfAnUploadIsTheServersFault(t *testing.T) {
	p := &pypitest.Project{Name: "demo", Releases: []pypitest.Release{release("1.0")}}
	p.Releases[0].SdistSize = 40 << 10
	sdist, err := pypitest.BuildSdist(p, &p.Releases[0])
	if err != nil {
		t.Fatal(err)
	}
	// A zip with bytes between its directory and the directory's end:
	// archive/zip finds the directory by a probe at the offset the end
	// names, and takes a failed probe for an archive not at offset 0.
	z := plainZipSdist(t, "demo-1.0/a", "demo-1.0/b")
	eocd := bytes.LastIndex(z, []byte("PK\x05\x06"))
	gap := append(append(append([]byte(nil), z[:eocd]...), make([]byte, 16)...), z[eocd:]...)
	for _, f := range []*pypitest.File{
		projectWheel(t, "demo", "1.0", 40<<10),
		{Filename: "demo-1.0.zip", Data: plainZipSdist(t, "demo-1.0/a", "demo-1.0/b")},
		{Filename: "demo-1.0.zip", Data: gap},
		sdist,
	} {
		t.Run(f.Filename, func(t *testing.T) {
			clean := &failingDisk{r: bytes.NewReader(f.Data)}
			if _, err := inspectUpload(&uploadFile{f: clean}, int64(len(f.Data)), f.Filename, 64<<20); err != nil {
				t.Fatalf("read whole: %v", err)
			}
			for _, sticky := range []bool{false, true} {
				for k := 1; k <= clean.reads; k++ {
					d := &failingDisk{r: bytes.NewReader(f.Data), fail: k, sticky: sticky}
					_, err := inspectUpload(&uploadFile{f: d}, int64(len(f.Data)), f.Filename, 64<<20)
					what := fmt.Sprintf("read %d of %d failing (sticky %v)", k, clean.reads, sticky)
					var de *diskReadError
					var ue *uploadError
					switch {
					case d.reads < k:
						t.Errorf("%s: only %d reads made", what, d.reads)
					case err == nil:
						t.Errorf("%s: accepted", what)
					case errors.As(err, &ue) || !errors.As(err, &de) || !errors.Is(err, syscall.EIO):
						t.Errorf("%s: %v, want the server's fault", what, err)
					}
				}
			}
			t.Logf("%d reads", clean.reads)
		})
	}
}

var _ io.ReaderAt = (*failingDisk)(nil)
