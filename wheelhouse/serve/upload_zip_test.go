package serve

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/readlimit"
	"github.com/larder-build/larder/wheelhouse"
)

const demoPkgInfo = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n\n"

// plainZipSdist is a well-formed zip sdist holding demo-1.0/PKG-INFO
// (deflated), and each of stored, stored.
func plainZipSdist(t *testing.T, stored ...string) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create("demo-1.0/PKG-INFO")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(demoPkgInfo))
	for _, name := range stored {
		if w, err = zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store}); err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(demoPkgInfo))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// zip64LocatorFarAway: a valid zip whose end record says "zip64"
// (records = 0xffff) and is preceded by a zip64 locator pointing at
// offset 2^63-16. archive/zip reads 56 bytes there without a bounds
// check: pread(fd, 56, 2^63-16) overflows pos+count and Linux answers
// EINVAL, which os wraps in an *fs.PathError.
func zip64LocatorFarAway(t *testing.T) []byte {
	z := plainZipSdist(t)
	eocd := bytes.LastIndex(z, []byte("PK\x05\x06"))
	var loc [20]byte
	copy(loc[:], "PK\x06\x07")
	binary.LittleEndian.PutUint32(loc[4:], 0)
	binary.LittleEndian.PutUint64(loc[8:], 1<<63-16)
	binary.LittleEndian.PutUint32(loc[16:], 1)
	end := append([]byte(nil), z[eocd:]...)
	binary.LittleEndian.PutUint16(end[10:], 0xffff) // total records: "see zip64"
	out := append(append(append([]byte(nil), z[:eocd]...), loc[:]...), end...)
	return out
}

// hugeCompressedSize: PKG-INFO deflated, with a data descriptor
// (flag 0x8) and a zip64 compressed size of 2^63-1. The deflate stream
// ends by itself, so it is read whole; then the data descriptor is read
// at headerOffset+bodyOffset+size, which overflows to a negative offset:
// os.File.ReadAt answers &PathError{Op: "readat", Err: "negative offset"}.
func hugeCompressedSize(t *testing.T) []byte {
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.DefaultCompression)
	fw.Write([]byte(demoPkgInfo))
	fw.Close()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.CreateRaw(&zip.FileHeader{
		Name: "demo-1.0/PKG-INFO", Method: zip.Deflate, Flags: 0x8,
		CRC32:              crc32.ChecksumIEEE([]byte(demoPkgInfo)),
		CompressedSize64:   1<<63 - 1,
		UncompressedSize64: uint64(len(demoPkgInfo)),
	})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(comp.Bytes())
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func inspectBytes(t *testing.T, name string, data []byte) error {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := inspectArchive(p, name, 64<<20)
	return err
}

// TestHostileZipOffsetsAreTheUploadsFaultNotTheServers uploads zips
// whose offsets point far outside themselves (found in review): read
// through the operating system, they failed as a broken disk would
// (EINVAL, "negative offset"), and a client must not be able to make the
// server answer 500 and log an error at will. They are refused with 400.
func TestHostileZipOffsetsAreTheUploadsFaultNotTheServers(t *testing.T) {
	if err := inspectBytes(t, "demo-1.0.zip", plainZipSdist(t)); err != nil {
		t.Fatalf("the plain zip: %v", err)
	}
	_, _, base := uploadServer(t)
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{"a zip64 locator at 2^63-16", zip64LocatorFarAway(t)},
		{"a member of compressed size 2^63-1 with a data descriptor", hugeCompressedSize(t)},
		{"a zip64 header offset of 2^63", zip64Member(t, 1<<63, 0)},
		{"a zip64 header offset of 2^63-10", zip64Member(t, 1<<63-10, 0)},
		{"a zip64 header offset of -30", zip64Member(t, 1<<64-30, 0)},
		{"a stored member of zip64 compressed size 2^63-1", zip64Member(t, 0, 1<<63-1)},
		{"a stored member of zip64 compressed size 2^64-1", zip64Member(t, 0, 1<<64-1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := inspectBytes(t, "demo-1.0.zip", tt.data)
			if ue := (*uploadError)(nil); err == nil || !errors.As(err, &ue) || ue.status != http.StatusBadRequest {
				t.Errorf("inspected: %v, want a 400 refusal", err)
			}
			f := &pypitest.File{Filename: "demo-1.0.zip", Project: "demo", Version: "1.0", IsSdist: true,
				Data: tt.data, Size: len(tt.data), SHA256: sha256Of(tt.data)}
			resp, body, err := postUpload(t, base, f, nil, "alice", "pw")
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("uploaded: %d %s, want 400", resp.StatusCode, strings.TrimSpace(string(body)))
			}
		})
	}
}

// TestAnUploadTheDiskFailsToReadIsTheServersFault reads an uploaded zip
// whose file fails under the reader (closed: every read of it fails, as
// a broken disk's would): that is the server's fault (a 500), not a 400
// telling the client its archive is bad.
func TestAnUploadTheDiskFailsToReadIsTheServersFault(t *testing.T) {
	data := plainZipSdist(t)
	p := filepath.Join(t.TempDir(), "demo-1.0.zip")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := readlimit.OpenZip(&uploadFile{f: f}, int64(len(data)), readlimit.MaxZipMembers)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	serversFault := func(what string, err error) {
		t.Helper()
		var de *diskReadError
		if ue := (*uploadError)(nil); !errors.As(err, &de) || errors.As(err, &ue) {
			t.Errorf("%s of a file that fails: %v, want the server's fault, not a refusal", what, err)
		}
	}
	_, err = readMemberOf(zr.File[0])
	serversFault("reading a member", err)
	_, _, err = hashMember(zr.File[0], 1<<20)
	serversFault("hashing a member", refuse(http.StatusBadRequest, "demo-1.0.zip: reading %s: %v", zr.File[0].Name, err))
	_, err = readlimit.OpenZip(&uploadFile{f: f}, int64(len(data)), readlimit.MaxZipMembers)
	serversFault("opening the zip", refuse(http.StatusBadRequest, "demo-1.0.zip: not a zip archive: %v", err))
}

// readMemberOf opens a member and reads it as the upload checks do.
func readMemberOf(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readMember(rc, "demo-1.0.zip", f.Name, 1<<20)
}

// TestAFileNameTooLongToStoreIsTheUploadsFault uploads real wheels whose
// names are near the 255 bytes a file name has: those whose metadata
// sidecar's name (the file's and ".metadata") would not fit are refused
// with a 400 naming the bound, never a 500 and an error in the log; the
// longest that fits is stored.
func TestAFileNameTooLongToStoreIsTheUploadsFault(t *testing.T) {
	_, _, base := uploadServer(t)
	name := strings.Repeat("d", 100)
	fixed := len(name + "-1.0-py3-none-linux_.whl")
	for _, n := range []int{wheelhouse.MaxSidecarName, wheelhouse.MaxSidecarName + 1, 233, 234, 250, 255} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			p := &pypitest.Project{Name: name, Releases: []pypitest.Release{release("1.0")}}
			w, err := pypitest.BuildWheel(p, &p.Releases[0], pypitest.Wheel{Tags: "py3-none-linux_" + strings.Repeat("x", n-fixed)})
			if err != nil {
				t.Fatal(err)
			}
			if len(w.Filename) != n {
				t.Fatalf("the wheel's name has %d bytes, want %d", len(w.Filename), n)
			}
			resp, body, err := postUpload(t, base, w, nil, "alice", "pw")
			if err != nil {
				t.Fatal(err)
			}
			want := http.StatusOK
			if n > wheelhouse.MaxSidecarName {
				want = http.StatusBadRequest
			}
			if resp.StatusCode != want {
				t.Fatalf("%d bytes: %d %s, want %d", n, resp.StatusCode, strings.TrimSpace(string(body)), want)
			}
			if want == http.StatusBadRequest && !strings.Contains(string(body), fmt.Sprintf("over the %d this server stores", wheelhouse.MaxSidecarName)) {
				t.Errorf("the refusal does not name the bound: %s", body)
			}
		})
	}
}
