package serve

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
)

// TestUploadFileReadsAsABytesReaderOfItsSize holds uploadFile to the
// io.Reader tests and, at every offset and length (out of the file too),
// to what a bytes.Reader of the file's bytes answers.
func TestUploadFileReadsAsABytesReaderOfItsSize(t *testing.T) {
	data := []byte("0123456789abcdefghij")
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, data, 0o644)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := uploadFile{f, int64(len(data))}
	if err := iotest.TestReader(io.NewSectionReader(u, 0, int64(len(data))), data); err != nil {
		t.Errorf("iotest.TestReader: %v", err)
	}
	if err := iotest.TestReader(uploadStream{f}, data); err != nil {
		t.Errorf("iotest.TestReader of the stream: %v", err)
	}
	br := bytes.NewReader(data)
	offs := []int64{-1 << 63, -1, 0, 1, 19, 20, 21, 1<<63 - 1}
	for _, off := range offs {
		for _, l := range []int{0, 1, 5, 19, 20, 21, 100} {
			p1, p2 := make([]byte, l), make([]byte, l)
			n1, e1 := u.ReadAt(p1, off)
			n2, e2 := br.ReadAt(p2, off)
			if off < 0 { // bytes.Reader says "negative offset"; EOF expected here
				if n1 != 0 || e1 != io.EOF {
					t.Errorf("off %d len %d: %d %v", off, l, n1, e1)
				}
				continue
			}
			if n1 != n2 || e1 != e2 || !bytes.Equal(p1, p2) {
				t.Errorf("off %d len %d: uploadFile %d %v, bytes.Reader %d %v", off, l, n1, e1, n2, e2)
			}
		}
	}
}

func wheelishZip(t *testing.T) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, m := range []struct {
		name string
		meth uint16
	}{{"demo-1.0/PKG-INFO", zip.Deflate}, {"demo-1.0/x", zip.Store}} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m.name, Method: m.meth})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(demoPkgInfo))
	}
	zw.Close()
	return b.Bytes()
}

// TestNoHostileZipFieldMakesADiskFault sets 2-, 4- and 8-byte fields of
// zips' headers to extreme values (4,000 seeded mutations of a plain zip
// and of two hostile ones): none may read as a failing disk, so none
// gets a 500.
func TestNoHostileZipFieldMakesADiskFault(t *testing.T) {
	base := wheelishZip(t)
	extremes := []uint64{0, 1<<63 - 1, 1 << 63, 1<<63 - 16, 1<<64 - 1, 1<<64 - 30, 0xffffffff, 0xfffffffe, uint64(len(base)), uint64(len(base) - 1)}
	rng := rand.New(rand.NewSource(1))
	dir := t.TempDir()
	// also a zip64 version: add zip64 extras by forcing sizes via locator variant
	inputs := [][]byte{base, zip64LocatorFarAway(t), hugeCompressedSize(t)}
	faults := 0
	for i := 0; i < 4000; i++ {
		d := append([]byte(nil), inputs[i%len(inputs)]...)
		for k := 0; k < 1+rng.Intn(3); k++ {
			w := []int{2, 4, 8}[rng.Intn(3)]
			off := rng.Intn(len(d) - w)
			v := extremes[rng.Intn(len(extremes))]
			switch w {
			case 2:
				binary.LittleEndian.PutUint16(d[off:], uint16(v))
			case 4:
				binary.LittleEndian.PutUint32(d[off:], uint32(v))
			case 8:
				binary.LittleEndian.PutUint64(d[off:], v)
			}
		}
		p := filepath.Join(dir, "demo-1.0.zip")
		os.WriteFile(p, d, 0o644)
		var err error
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("panic on mutation %d: %v", i, r)
				}
			}()
			_, err = inspectArchive(p, "demo-1.0.zip", 64<<20)
		}()
		var de *diskReadError
		if errors.As(err, &de) {
			faults++
			if faults < 5 {
				t.Errorf("mutation %d: disk fault: %v", i, err)
			}
		}
	}
	t.Logf("disk faults: %d", faults)
}

// TestZip64OffsetsOutOfTheFileAreRefusals: a zip64 central header
// whose local header offset is negative (2^63+) or just past the end, or
// whose stored member has a compressed size of 2^63-1, is refused.
func TestZip64OffsetsOutOfTheFileAreRefusals(t *testing.T) {
	for _, tc := range []struct {
		name     string
		hdrOff   uint64
		compSize uint64
	}{
		{"negative header offset", 1 << 63, 0},
		{"header offset 2^63-10", 1<<63 - 10, 0},
		{"header offset -30", 1<<64 - 30, 0},
		{"stored comp size 2^63-1", 0, 1<<63 - 1},
		{"stored comp size 2^64-1", 0, 1<<64 - 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := zip64Member(t, tc.hdrOff, tc.compSize)
			if _, err := zip.NewReader(bytes.NewReader(d), int64(len(d))); err != nil {
				t.Logf("zip.NewReader on bytes: %v", err)
			}
			err := inspectBytes(t, "demo-1.0.zip", d)
			var de *diskReadError
			if errors.As(err, &de) {
				t.Errorf("disk fault: %v", err)
			}
			t.Logf("err: %v", err)
		})
	}
}

// zip64Member builds a one-member stored zip with a zip64 extra in the
// central directory carrying (uncompressed, compressed, header offset).
func zip64Member(t *testing.T, hdrOff, compSize uint64) []byte {
	body := []byte(demoPkgInfo)
	name := "demo-1.0/PKG-INFO"
	var b bytes.Buffer
	le := binary.LittleEndian
	w16 := func(v uint16) { binary.Write(&b, le, v) }
	w32 := func(v uint32) { binary.Write(&b, le, v) }
	w64 := func(v uint64) { binary.Write(&b, le, v) }
	// local header
	w32(0x04034b50)
	w16(20)
	w16(0)
	w16(0)
	w16(0)
	w16(0)
	w32(0)
	w32(uint32(len(body)))
	w32(uint32(len(body)))
	w16(uint16(len(name)))
	w16(0)
	b.WriteString(name)
	b.Write(body)
	cd := b.Len()
	if compSize == 0 {
		compSize = uint64(len(body))
	}
	w32(0x02014b50)
	w16(45)
	w16(45)
	w16(0)
	w16(0)
	w16(0)
	w16(0)
	w32(0)
	w32(0xffffffff)
	w32(0xffffffff)
	w16(uint16(len(name)))
	w16(4 + 24)
	w16(0)
	w16(0)
	w16(0)
	w32(0)
	w32(0xffffffff)
	b.WriteString(name)
	w16(1)
	w16(24)
	w64(uint64(len(body)))
	w64(compSize)
	w64(hdrOff)
	cdEnd := b.Len()
	w32(0x06054b50)
	w16(0)
	w16(0)
	w16(1)
	w16(1)
	w32(uint32(cdEnd - cd))
	w32(uint32(cd))
	w16(0)
	return b.Bytes()
}
