package serve

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
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

// TestAnSdistThatIsNotAGzipIsTheClientsFaultAndAFailedReadTheServers
// does the same for a .tar.gz sdist, read as a stream.
func TestAnSdistThatIsNotAGzipIsTheClientsFaultAndAFailedReadTheServers(t *testing.T) {
	_, notGzip := gzip.NewReader(bytes.NewReader([]byte("not gzip at all")))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("not a tar archive, but gzipped"))
	zw.Close()
	zr, err := gzip.NewReader(bytes.NewReader(gz.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	_, notTar := findInTar(zr, isPkgInfo, maxMetadataSize)
	eio := &fs.PathError{Op: "read", Path: "/uploads/x", Err: syscall.EIO}
	for _, tt := range []struct {
		name string
		err  error
		disk bool
	}{
		{"not gzip", notGzip, false},
		{"gzip of no tar", notTar, false},
		{"no PKG-INFO", errNotInTar, false},
		{"a read error of the disk", eio, true},
		{"a read error of the disk, wrapped", fmt.Errorf("reading a member: %w", eio), true},
		{"nil", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil && tt.name != "nil" {
				t.Fatal("the input gave no error")
			}
			if got := diskError(tt.err); got != tt.disk {
				t.Errorf("diskError(%v) = %v, want %v", tt.err, got, tt.disk)
			}
			if tt.disk && badZip(tt.err) || errors.Is(tt.err, syscall.EIO) && !tt.disk {
				t.Errorf("%v is sorted both ways", tt.err)
			}
		})
	}
}
