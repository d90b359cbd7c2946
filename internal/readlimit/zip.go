package readlimit

import (
	"archive/zip"
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// MaxZipMembers bounds the members of a zip archive larder reads (a
// wheel or a zip sdist): the largest real wheels list tens of thousands.
const MaxZipMembers = 100000

// TooManyMembersError reports a zip archive whose central directory
// lists more than Max members.
type TooManyMembersError struct {
	Max int
}

func (e *TooManyMembersError) Error() string {
	return "more than " + strconv.Itoa(e.Max) + " members"
}

// OpenZip reads the zip archive in r (of size bytes) as zip.NewReader
// does, after counting the members its central directory lists: one
// that lists more than maxMembers is a *TooManyMembersError, refused
// before archive/zip builds their headers in memory. Every archive that
// larder did not write itself is opened this way. The archive is read
// within its size alone.
func OpenZip(r io.ReaderAt, size int64, maxMembers int) (*zip.Reader, error) {
	// archive/zip reads at offsets the archive names without checking
	// them (a zip64 locator's, a data descriptor's past a member of
	// compressed size 2^63-1): read through a section, an offset outside
	// the archive is its end, never an offset the OS refuses (EINVAL,
	// "negative offset", which would read as a failing disk).
	r = io.NewSectionReader(r, 0, size)
	over, err := zipMembersOver(r, size, maxMembers)
	if err != nil {
		return nil, err
	}
	if over {
		return nil, &TooManyMembersError{Max: maxMembers}
	}
	return zip.NewReader(r, size)
}

// endLen is the length of a zip end of central directory record.
const endLen = 22

// zipMembersOver reports whether the zip archive in f (of size bytes)
// lists more than limit members in its central directory, reading only
// the directory's end and its fixed headers: archive/zip builds every
// member's header in memory before anyone can count them (about 250
// bytes for each member of 46, so a 100 MiB upload of empty members
// would take over 500 MiB). The directory is looked for where
// archive/zip looks (its end record, 32- or 64-bit, with or without
// the base offset it may apply), and the largest count found wins.
func zipMembersOver(f io.ReaderAt, size int64, limit int) (bool, error) {
	var tail []byte
	var end int64 = -1
	for i, n := range []int64{1024, 65 * 1024} {
		n = min(n, size)
		tail = make([]byte, n)
		if _, err := f.ReadAt(tail, size-n); err != nil && err != io.EOF {
			return false, err
		}
		if p := endRecordIn(tail); p >= 0 {
			tail, end = tail[p:], size-n+int64(p)
			break
		}
		if i == 1 || n == size {
			return false, nil // not a zip: archive/zip says so
		}
	}
	type dir struct{ end, size, offset int64 }
	le := binary.LittleEndian
	dirs := []dir{{end, int64(le.Uint32(tail[12:])), int64(le.Uint32(tail[16:]))}}
	if end >= 20 {
		// A read that fails (other than at the archive's end) is
		// returned: counted without what it holds, an archive could
		// pass for one under the limit.
		var loc [20]byte
		_, err := f.ReadAt(loc[:], end-20)
		if err != nil && err != io.EOF {
			return false, fmt.Errorf("reading the zip64 locator: %w", err)
		}
		if err == nil && string(loc[:4]) == "PK\x06\x07" {
			p := le.Uint64(loc[8:])
			var rec [56]byte
			if p < uint64(size) {
				_, err := f.ReadAt(rec[:], int64(p))
				if err != nil && err != io.EOF {
					return false, fmt.Errorf("reading the zip64 directory end: %w", err)
				}
				if err == nil && string(rec[:4]) == "PK\x06\x06" {
					dirs = append(dirs, dir{int64(p), int64(le.Uint64(rec[40:]) & (1<<62 - 1)), int64(le.Uint64(rec[48:]) & (1<<62 - 1))})
				}
			}
		}
	}
	// The places are usually one and the same: each is read once.
	most := 0
	counted := make([]int64, 0, 4)
	for _, d := range dirs {
		for _, start := range []int64{d.offset, d.end - d.size} {
			if start < 0 || start >= size || slices.Contains(counted, start) {
				continue
			}
			counted = append(counted, start)
			n, err := countDirectoryHeaders(io.NewSectionReader(f, start, size-start), limit)
			if err != nil {
				return false, fmt.Errorf("reading the central directory: %w", err)
			}
			most = max(most, n)
		}
	}
	return most > limit, nil
}

// endRecordIn finds the end of central directory record in b as
// archive/zip does: the last signature whose comment fits, or -1.
func endRecordIn(b []byte) int {
	for i := len(b) - endLen; i >= 0; i-- {
		if b[i] == 'P' && b[i+1] == 'K' && b[i+2] == 0x05 && b[i+3] == 0x06 {
			if n := int(b[i+endLen-2]) | int(b[i+endLen-1])<<8; n+endLen+i > len(b) {
				return -1
			}
			return i
		}
	}
	return -1
}

// countDirectoryHeaders counts the central directory headers that follow
// one another from r's start, as archive/zip reads them, up to limit+1.
// The archive's end ends the count; a read that fails is an error.
func countDirectoryHeaders(r io.Reader, limit int) (int, error) {
	br := bufio.NewReader(r)
	var h [46]byte
	n := 0
	for ; n <= limit; n++ {
		if _, err := io.ReadFull(br, h[:]); err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		} else if err != nil {
			return n, err
		}
		if string(h[:4]) != "PK\x01\x02" {
			break
		}
		le := binary.LittleEndian
		skip := int64(le.Uint16(h[28:])) + int64(le.Uint16(h[30:])) + int64(le.Uint16(h[32:]))
		if _, err := br.Discard(int(skip)); err == io.EOF {
			break
		} else if err != nil {
			return n, err
		}
	}
	return n, nil
}
