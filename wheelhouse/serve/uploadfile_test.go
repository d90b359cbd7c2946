package serve

import (
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

// TestUploadFileReadsTheFile holds uploadFile to the io.Reader tests,
// read as a stream and at offsets.
func TestUploadFileReadsTheFile(t *testing.T) {
	data := []byte("0123456789abcdefghij")
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, data, 0o644)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := iotest.TestReader(io.NewSectionReader(&uploadFile{f: f}, 0, int64(len(data))), data); err != nil {
		t.Errorf("at offsets: %v", err)
	}
	if err := iotest.TestReader(&uploadFile{f: f}, data); err != nil {
		t.Errorf("as a stream: %v", err)
	}
}

// TestNoHostileZipFieldMakesADiskFault sets 2-, 4- and 8-byte fields of
// zips' headers to extreme values (4,000 seeded mutations of a plain zip
// and of two hostile ones): none may read as a failing disk, so none
// gets a 500.
func TestNoHostileZipFieldMakesADiskFault(t *testing.T) {
	base := plainZipSdist(t, "demo-1.0/x")
	extremes := []uint64{0, 1<<63 - 1, 1 << 63, 1<<63 - 16, 1<<64 - 1, 1<<64 - 30, 0xffffffff, 0xfffffffe, uint64(len(base)), uint64(len(base) - 1)}
	rng := rand.New(rand.NewSource(1))
	dir := t.TempDir()
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
