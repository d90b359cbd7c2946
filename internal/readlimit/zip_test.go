package readlimit

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func zipOf(t *testing.T, members int, comment string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := range members {
		if _, err := zw.Create(fmt.Sprintf("m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.SetComment(comment); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestOpenZipCountsTheMembersBeforeArchiveZipReadsThem(t *testing.T) {
	for _, tc := range []struct {
		name    string
		data    []byte
		members int  // want, when opened
		tooMany bool // want a *TooManyMembersError
	}{
		{"as many as the limit", zipOf(t, 10, ""), 10, false},
		{"one more than the limit", zipOf(t, 11, ""), 0, true},
		{"one more, behind a long comment", zipOf(t, 11, string(bytes.Repeat([]byte("c"), 60000))), 0, true},
		{"none", zipOf(t, 0, ""), 0, false},
		{"not a zip", []byte("not a zip archive at all"), 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z, err := OpenZip(bytes.NewReader(tc.data), int64(len(tc.data)), 10)
			var tm *TooManyMembersError
			switch {
			case tc.tooMany:
				if !errors.As(err, &tm) || tm.Max != 10 || z != nil {
					t.Errorf("err %v, want more than 10 members refused", err)
				}
			case tc.name == "not a zip":
				if err == nil || errors.As(err, &tm) {
					t.Errorf("err %v, want archive/zip's refusal", err)
				}
			case err != nil || len(z.File) != tc.members:
				t.Errorf("err %v, want %d members read", err, tc.members)
			}
		})
	}
}

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	r *bytes.Reader
	n int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n += int64(n)
	return n, err
}

// TestTheCountReadsTheDirectoryOnce: the end record's offset and the
// directory found back from the end record are one place in an ordinary
// archive, and its headers are read once, not once for each.
func TestTheCountReadsTheDirectoryOnce(t *testing.T) {
	data := zipOf(t, 2000, "")
	dir := int64(binary.LittleEndian.Uint32(data[len(data)-endLen+12:])) // the end record's directory size
	c := &countingReaderAt{r: bytes.NewReader(data)}
	over, err := zipMembersOver(c, int64(len(data)), MaxZipMembers)
	if err != nil || over {
		t.Fatalf("over %v, err %v", over, err)
	}
	if c.n > 1024+dir+4096 {
		t.Errorf("counting the members of a %d-byte directory read %d bytes; want it read once", dir, c.n)
	}
}

// TestOpenZipReadsNoOffsetOutsideTheArchive opens, from a file, a zip
// whose zip64 locator points at 2^63-16: archive/zip reads there
// unchecked, and the OS refuses the read (EINVAL), which a caller would
// take for a failing disk. Read within the archive, it is a format error.
func TestOpenZipReadsNoOffsetOutsideTheArchive(t *testing.T) {
	z := zipOf(t, 1, "")
	end := bytes.LastIndex(z, []byte("PK\x05\x06"))
	var loc [20]byte
	copy(loc[:], "PK\x06\x07")
	binary.LittleEndian.PutUint64(loc[8:], 1<<63-16)
	binary.LittleEndian.PutUint32(loc[16:], 1)
	tail := append([]byte(nil), z[end:]...)
	binary.LittleEndian.PutUint16(tail[10:], 0xffff) // total records: see the zip64 record
	hostile := append(append(append([]byte(nil), z[:end]...), loc[:]...), tail...)
	p := filepath.Join(t.TempDir(), "x.zip")
	if err := os.WriteFile(p, hostile, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = OpenZip(f, int64(len(hostile)), 10)
	var pe *fs.PathError
	if err == nil || errors.As(err, &pe) {
		t.Fatalf("got %v, want a format error, not a failed read of the file", err)
	}
}
