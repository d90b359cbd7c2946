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
	"slices"
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

// zip64Of is zipOf(members) with a zip64 directory end and its locator
// before the end record, which says "see zip64" for its record count.
func zip64Of(t *testing.T, members int) []byte {
	t.Helper()
	z := zipOf(t, members, "")
	eocd := bytes.LastIndex(z, []byte("PK\x05\x06"))
	le := binary.LittleEndian
	var rec [56]byte
	copy(rec[:], "PK\x06\x06")
	le.PutUint64(rec[4:], 44)
	le.PutUint64(rec[24:], uint64(members))
	le.PutUint64(rec[32:], uint64(members))
	le.PutUint64(rec[40:], uint64(le.Uint32(z[eocd+12:])))
	le.PutUint64(rec[48:], uint64(le.Uint32(z[eocd+16:])))
	var loc [20]byte
	copy(loc[:], "PK\x06\x07")
	le.PutUint64(loc[8:], uint64(eocd))
	le.PutUint32(loc[16:], 1)
	end := append([]byte(nil), z[eocd:]...)
	le.PutUint16(end[8:], 0xffff)
	le.PutUint16(end[10:], 0xffff)
	return slices.Concat(z[:eocd], rec[:], loc[:], end)
}

// failingReaderAt fails its read number fail (from 1) with errBroken,
// and counts its reads.
type failingReaderAt struct {
	r     *bytes.Reader
	fail  int
	reads int
}

var errBroken = errors.New("input/output error")

func (f *failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	f.reads++
	if f.reads == f.fail {
		return 0, errBroken
	}
	return f.r.ReadAt(p, off)
}

// TestAReadThatFailsWhileCountingTheMembersIsAnError fails each read of
// the count in turn, for a zip of 11 members and a zip64 one, with a
// limit of 10: the count returns the failure (its reader's, wrapped),
// and OpenZip never opens the archive (read without the failed bytes,
// the directory counted none, and archive/zip went on to build all 11).
func TestAReadThatFailsWhileCountingTheMembersIsAnError(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"zip", zipOf(t, 11, "")},
		{"zip64", zip64Of(t, 11)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			size := int64(len(tc.data))
			clean := &failingReaderAt{r: bytes.NewReader(tc.data)}
			if over, err := zipMembersOver(clean, size, 10); !over || err != nil {
				t.Fatalf("read whole: over %v, err %v; want over", over, err)
			}
			if z, err := zip.NewReader(bytes.NewReader(tc.data), size); err != nil || len(z.File) != 11 {
				t.Fatalf("archive/zip reads it as: %v", err)
			}
			t.Logf("%d reads", clean.reads)
			for k := 1; k <= clean.reads; k++ {
				over, err := zipMembersOver(&failingReaderAt{r: bytes.NewReader(tc.data), fail: k}, size, 10)
				if !errors.Is(err, errBroken) {
					t.Errorf("read %d of %d failing: over %v, err %v; want the failure", k, clean.reads, over, err)
				}
				if z, err := OpenZip(&failingReaderAt{r: bytes.NewReader(tc.data), fail: k}, size, 10); err == nil {
					t.Errorf("read %d of %d failing: opened, %d members", k, clean.reads, len(z.File))
				}
			}
		})
	}
}
