package serve

// Uploads read two things from archives: a wheel's RECORD (CSV) and an
// sdist's PKG-INFO (one member of a tar). archive/tar (with os/user) and
// encoding/csv would add a quarter of larder-index's size budget for that,
// so both are read here, strictly: anything unusual is refused, not
// guessed at.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// parseRecord splits a wheel's RECORD into rows of fields: CSV as Python's
// csv module writes it (a field is quoted when it holds a comma, a quote
// or a line break; quotes inside are doubled), lines ending in \n or \r\n.
func parseRecord(b []byte) ([][]string, error) {
	var rows [][]string
	s := string(b)
	for line := 1; s != ""; line++ {
		var row []string
		for {
			var field string
			if strings.HasPrefix(s, `"`) {
				var f strings.Builder
				s = s[1:]
				for {
					i := strings.IndexByte(s, '"')
					if i < 0 {
						return nil, fmt.Errorf("line %d: unterminated quoted field", line)
					}
					f.WriteString(s[:i])
					s = s[i+1:]
					if !strings.HasPrefix(s, `"`) {
						break
					}
					f.WriteByte('"')
					s = s[1:]
				}
				field = f.String()
			} else {
				i := strings.IndexAny(s, ",\r\n")
				if i < 0 {
					i = len(s)
				}
				field, s = s[:i], s[i:]
				if strings.Contains(field, `"`) {
					return nil, fmt.Errorf("line %d: a quote inside an unquoted field", line)
				}
			}
			row = append(row, field)
			if strings.HasPrefix(s, ",") {
				s = s[1:]
				continue
			}
			s = strings.TrimPrefix(s, "\r")
			if s != "" && !strings.HasPrefix(s, "\n") {
				return nil, fmt.Errorf("line %d: text after a quoted field", line)
			}
			s = strings.TrimPrefix(s, "\n")
			break
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// Limits of the tar walk.
const (
	maxTarMembers    = 100000
	maxTarHeaderData = 64 << 10 // a PAX header or GNU long name
)

var errNotInTar = errors.New("not in the archive")

// findInTar returns the content of the first regular file of a tar stream
// whose name match accepts, reading at most limit bytes of it, and reads
// on to the end of the archive to pass every member's name to check (a
// non-nil error from it is the answer). It reads ustar, PAX (path) and
// GNU long-name headers.
func findInTar(r io.Reader, match func(string) bool, limit int64, check func(name string) error) ([]byte, error) {
	var hdr [512]byte
	longName := ""
	var found []byte
	end := func() ([]byte, error) {
		if found == nil {
			return nil, errNotInTar
		}
		return found, nil
	}
	for range maxTarMembers {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return end()
			}
			return nil, fmt.Errorf("reading a tar header: %w", err)
		}
		if hdr == [512]byte{} {
			return end() // the end-of-archive block
		}
		if !tarChecksumOK(&hdr) {
			return nil, errors.New("a tar header's checksum does not match")
		}
		size, err := tarOctal(hdr[124:136])
		if err != nil {
			return nil, fmt.Errorf("a tar header's size: %w", err)
		}
		name := cString(hdr[0:100])
		if string(hdr[257:262]) == "ustar" {
			if prefix := cString(hdr[345:500]); prefix != "" {
				name = prefix + "/" + name
			}
		}
		if longName != "" {
			name, longName = longName, ""
		}
		padded := (size + 511) &^ 511
		switch typ := hdr[156]; typ {
		case 'L', 'x':
			if size > maxTarHeaderData {
				return nil, fmt.Errorf("a tar extended header of %d bytes", size)
			}
			data := make([]byte, padded)
			if _, err := io.ReadFull(r, data); err != nil {
				return nil, fmt.Errorf("reading a tar extended header: %w", err)
			}
			data = data[:size]
			if typ == 'L' {
				longName = cString(data)
			} else if p, ok := paxPath(data); ok {
				longName = p
			}
			continue
		case 'g':
			// A PAX global header: no member.
		case '0', 0:
			if err := check(name); err != nil {
				return nil, err
			}
			if found == nil && match(name) {
				if size > limit {
					return nil, fmt.Errorf("%s is larger than %d bytes", name, limit)
				}
				data := make([]byte, padded)
				if _, err := io.ReadFull(r, data); err != nil {
					return nil, fmt.Errorf("reading %s: %w", name, err)
				}
				found = data[:size]
				continue
			}
		default:
			if err := check(name); err != nil {
				return nil, err
			}
		}
		if _, err := io.CopyN(io.Discard, r, padded); err != nil {
			return nil, fmt.Errorf("reading the tar archive: %w", err)
		}
	}
	return nil, fmt.Errorf("more than %d tar members", maxTarMembers)
}

// tarChecksumOK checks a header's sum of bytes, its checksum field counted
// as spaces (unsigned, as POSIX says; signed, as old tars wrote it).
func tarChecksumOK(h *[512]byte) bool {
	want, err := tarOctal(h[148:156])
	if err != nil {
		return false
	}
	var unsigned, signed int64
	for i, c := range h {
		if i >= 148 && i < 156 {
			c = ' '
		}
		unsigned += int64(c)
		signed += int64(int8(c))
	}
	return want == unsigned || want == signed
}

// tarOctal reads a NUL- or space-terminated octal field. The base-256
// form (files over 8 GiB) is refused: no upload is that large.
func tarOctal(b []byte) (int64, error) {
	s := strings.Trim(string(b), " \x00")
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(s, 8, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not an octal number", s)
	}
	return v, nil
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// paxPath returns the path record of a PAX extended header ("LEN
// path=VALUE\n" records).
func paxPath(data []byte) (string, bool) {
	for len(data) > 0 {
		sp := bytes.IndexByte(data, ' ')
		if sp <= 0 {
			return "", false
		}
		n, err := strconv.Atoi(string(data[:sp]))
		if err != nil || n <= sp || n > len(data) || data[n-1] != '\n' {
			return "", false
		}
		rec := string(data[sp+1 : n-1])
		if v, ok := strings.CutPrefix(rec, "path="); ok {
			return v, true
		}
		data = data[n:]
	}
	return "", false
}

// capReader reads at most n bytes of r, and fails with over past them: an
// archive that unpacks to more than its budget, or a page longer than the
// server reads, is refused, not taken for one that ends there.
type capReader struct {
	r    io.Reader
	n    int64
	over error
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		// One byte more tells a stream that ends at n bytes from one that
		// runs on.
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			return 0, c.over
		}
		return 0, err
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	return n, err
}

var errTooLargeUnpacked = errors.New("the archive unpacks to more bytes than the upload may")
