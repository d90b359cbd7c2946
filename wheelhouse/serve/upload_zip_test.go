package serve

import (
	"archive/zip"
	"bytes"
	"io/fs"
	"syscall"
	"testing"

	"github.com/larder-build/larder/internal/readlimit"
)

// TestAnUploadThatIsNotAZipIsTheClientsFaultAndAFailedReadTheServers
// sorts the errors of opening an uploaded zip: an archive that is not
// one, or is cut short, is refused (400); a read that fails on the
// server's disk is a server error (500), not blamed on the client.
func TestAnUploadThatIsNotAZipIsTheClientsFaultAndAFailedReadTheServers(t *testing.T) {
	var whole bytes.Buffer
	zw := zip.NewWriter(&whole)
	w, _ := zw.Create("demo-1.0.dist-info/METADATA")
	w.Write(bytes.Repeat([]byte("Name: demo\n"), 100))
	zw.Close()
	open := func(b []byte) error {
		_, err := readlimit.OpenZip(bytes.NewReader(b), int64(len(b)), readlimit.MaxZipMembers)
		if err == nil {
			t.Fatalf("%d bytes opened as a zip", len(b))
		}
		return err
	}
	for _, tt := range []struct {
		name string
		err  error
		bad  bool
	}{
		{"text", open([]byte("this is not a zip archive\n")), true},
		{"nothing", open(nil), true},
		{"a zip without its last half", open(whole.Bytes()[:whole.Len()/2]), true},
		{"a zip whose directory is cut", open(whole.Bytes()[:whole.Len()-30]), true},
		{"a read error of the disk", &fs.PathError{Op: "read", Path: "/uploads/x", Err: syscall.EIO}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := badZip(tt.err); got != tt.bad {
				t.Errorf("badZip(%v) = %v, want %v", tt.err, got, tt.bad)
			}
		})
	}
}
