package reqfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// logicalLine is one requirement-file line as pip sees it after joining
// continuations and removing the comment, but before ${VAR} expansion.
type logicalLine struct {
	first, last int    // 1-based physical lines it spans
	text        string // stripped, comment removed, variables unexpanded
	comment     string // trailing comment text without '#', trimmed
}

// isPySpace reports whether r is whitespace to Python's str.isspace and
// its re module's \s; pip's comment and strip rules use those, and they
// count U+001C..U+001F, which unicode.IsSpace does not.
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

func pyTrim(s string) string { return strings.TrimFunc(s, isPySpace) }

// decodeContent turns file bytes into text the way pip does: a BOM picks
// the encoding, then a PEP 263 coding comment in the first two lines, else
// UTF-8 (the locale encoding on every machine larder targets).
func decodeContent(data []byte) (string, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xef, 0xbb, 0xbf}):
		return decodeUTF8(data[3:])
	case bytes.HasPrefix(data, []byte{0xff, 0xfe}):
		// pip tests the UTF-16 BOMs before the UTF-32 ones, so FF FE 00 00
		// decodes as UTF-16 too.
		return decodeUTF16(data[2:], false)
	case bytes.HasPrefix(data, []byte{0xfe, 0xff}):
		return decodeUTF16(data[2:], true)
	case bytes.HasPrefix(data, []byte{0, 0, 0xfe, 0xff}):
		return decodeUTF32BE(data[4:])
	}
	for i, line := range bytes.SplitN(data, []byte("\n"), 3) {
		if i == 2 {
			break
		}
		if len(line) == 0 || line[0] != '#' {
			continue
		}
		if enc, ok := codingDeclaration(line); ok {
			return decodeNamed(data, enc)
		}
	}
	return decodeUTF8(data)
}

// codingDeclaration finds "coding[:=]\s*NAME" in a comment line.
func codingDeclaration(line []byte) (string, bool) {
	for off := 0; ; {
		i := bytes.Index(line[off:], []byte("coding"))
		if i < 0 {
			return "", false
		}
		j := off + i + len("coding")
		off = off + i + 1
		if j >= len(line) || (line[j] != ':' && line[j] != '=') {
			continue
		}
		j++
		for j < len(line) && (line[j] == ' ' || line[j] == '\t' || line[j] == '\f' || line[j] == '\v' || line[j] == '\r' || line[j] == '\n') {
			j++
		}
		k := j
		for k < len(line) && isEncodingNameByte(line[k]) {
			k++
		}
		if k > j {
			return string(line[j:k]), true
		}
	}
}

func isEncodingNameByte(b byte) bool {
	return b == '-' || b == '.' || b == '_' || (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')
}

func decodeNamed(data []byte, enc string) (string, error) {
	norm := strings.ToLower(strings.ReplaceAll(enc, "_", "-"))
	switch norm {
	case "utf-8", "utf8", "u8", "utf", "utf8-sig", "utf-8-sig":
		if strings.HasSuffix(norm, "sig") {
			data = bytes.TrimPrefix(data, []byte{0xef, 0xbb, 0xbf})
		}
		return decodeUTF8(data)
	case "ascii", "us-ascii", "646":
		for i, b := range data {
			if b >= 0x80 {
				return "", fmt.Errorf("decoding as %s: byte 0x%02x at offset %d is not ASCII", enc, b, i)
			}
		}
		return string(data), nil
	case "latin-1", "latin1", "iso-8859-1", "iso8859-1", "8859", "cp819", "l1", "latin":
		var sb strings.Builder
		for _, b := range data {
			sb.WriteRune(rune(b))
		}
		return sb.String(), nil
	}
	return "", fmt.Errorf("decoding: unsupported coding declaration %q (use UTF-8)", enc)
}

func decodeUTF8(data []byte) (string, error) {
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, n := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return "", fmt.Errorf("decoding: invalid UTF-8 at byte offset %d", off)
	}
	return string(data), nil
}

func decodeUTF16(data []byte, bigEndian bool) (string, error) {
	if len(data)%2 != 0 {
		return "", errors.New("decoding UTF-16: odd number of bytes")
	}
	units := make([]uint16, len(data)/2)
	for i := range units {
		if bigEndian {
			units[i] = uint16(data[2*i])<<8 | uint16(data[2*i+1])
		} else {
			units[i] = uint16(data[2*i+1])<<8 | uint16(data[2*i])
		}
	}
	for i := 0; i < len(units); i++ {
		u := units[i]
		switch {
		case u >= 0xd800 && u < 0xdc00:
			if i+1 >= len(units) || units[i+1] < 0xdc00 || units[i+1] >= 0xe000 {
				return "", fmt.Errorf("decoding UTF-16: unpaired surrogate at unit %d", i)
			}
			i++
		case u >= 0xdc00 && u < 0xe000:
			return "", fmt.Errorf("decoding UTF-16: unpaired surrogate at unit %d", i)
		}
	}
	return string(utf16.Decode(units)), nil
}

func decodeUTF32BE(data []byte) (string, error) {
	if len(data)%4 != 0 {
		return "", errors.New("decoding UTF-32: length is not a multiple of 4")
	}
	var sb strings.Builder
	for i := 0; i < len(data); i += 4 {
		r := rune(uint32(data[i])<<24 | uint32(data[i+1])<<16 | uint32(data[i+2])<<8 | uint32(data[i+3]))
		if !utf8.ValidRune(r) {
			return "", fmt.Errorf("decoding UTF-32: invalid code point at byte offset %d", i)
		}
		sb.WriteRune(r)
	}
	return sb.String(), nil
}

// splitLines splits like Python's str.splitlines, which pip uses: besides
// \n, \r and \r\n it breaks on \v, \f, \x1c-\x1e, U+0085, U+2028, U+2029.
func splitLines(s string) []string {
	lines, _ := splitLinesContext(context.Background(), s)
	return lines
}

// splitLinesContext is splitLines that stops with ctx's error once ctx is
// done, looking at it every splitPiece bytes.
func splitLinesContext(ctx context.Context, s string) ([]string, error) {
	var lines []string
	start := 0
	look := 0
	for i := 0; i < len(s); {
		if i >= look {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			look = i + splitPiece
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '\n', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
			lines = append(lines, s[start:i])
			start = i + n
		case '\r':
			lines = append(lines, s[start:i])
			if i+1 < len(s) && s[i+1] == '\n' {
				n = 2
			}
			start = i + n
		}
		i += n
	}
	if start < len(s) {
		lines = append(lines, s[start:])
	}
	return lines, nil
}

// isCommentLine reports whether line is, after optional whitespace, a
// comment; such lines never continue onto the next one.
func isCommentLine(line string) bool {
	return strings.HasPrefix(strings.TrimLeftFunc(line, isPySpace), "#")
}

// commentStart returns the index of the '#' that starts a comment: one at
// the start of the line or after whitespace. A '#' inside a word, as in
// "pkg.tar.gz#egg=pkg", is part of the requirement.
func commentStart(line string) int {
	prevSpace := true
	for i, r := range line {
		if r == '#' && prevSpace {
			return i
		}
		prevSpace = isPySpace(r)
	}
	return -1
}

// logicalLines joins continuation lines and removes comments and blank
// lines, following pip's rules: a line ending in '\' continues unless it is
// a comment line; every leading and trailing '\' of a continued piece is
// dropped; a comment line ends a continuation; the joined line takes the
// number of its first physical line.
func logicalLines(physical []string) []logicalLine {
	var out []logicalLine
	for ll := range eachLogicalLine(physical) {
		out = append(out, ll)
	}
	return out
}

// eachLogicalLine yields the logical lines of physical one at a time, so
// that a parse of a huge file holds one, not a slice of millions.
func eachLogicalLine(physical []string) iter.Seq[logicalLine] {
	return func(yield func(logicalLine) bool) {
		forLogicalLines(physical, yield)
	}
}

func forLogicalLines(physical []string, yield func(logicalLine) bool) {
	stopped := false
	emit := func(first, last int, text string) {
		body := text
		comment := ""
		if i := commentStart(text); i >= 0 {
			body = text[:i]
			comment = pyTrim(text[i+1:])
		}
		body = pyTrim(body)
		if body == "" || stopped {
			return
		}
		stopped = !yield(logicalLine{first: first, last: last, text: body, comment: comment})
	}
	var pending []string
	primary := 0
	for i, line := range physical {
		if stopped {
			return
		}
		n := i + 1
		if !strings.HasSuffix(line, `\`) || isCommentLine(line) {
			if isCommentLine(line) {
				line = " " + line
			}
			if pending != nil {
				pending = append(pending, line)
				emit(primary, n, strings.Join(pending, ""))
				pending = nil
			} else {
				emit(n, n, line)
			}
			continue
		}
		if pending == nil {
			primary = n
		}
		pending = append(pending, strings.Trim(line, `\`))
	}
	if pending != nil {
		emit(primary, len(physical), strings.Join(pending, ""))
	}
}

// envRef is one ${NAME} reference found in a line.
type envRef struct{ ref, name string }

// findEnvRefs finds ${NAME} references where NAME is uppercase ASCII
// letters, digits and '_', the only form pip expands.
func findEnvRefs(s string) []envRef {
	var refs []envRef
	for i := 0; i+3 < len(s); i++ {
		if s[i] != '$' || s[i+1] != '{' {
			continue
		}
		j := i + 2
		for j < len(s) && (s[j] == '_' || (s[j] >= 'A' && s[j] <= 'Z') || (s[j] >= '0' && s[j] <= '9')) {
			j++
		}
		if j > i+2 && j < len(s) && s[j] == '}' {
			refs = append(refs, envRef{ref: s[i : j+1], name: s[i+2 : j]})
			i = j
		}
	}
	return refs
}

// maxExpandedLine bounds a line after ${VAR} expansion: a value that
// refers to itself would otherwise double the line once per reference.
const maxExpandedLine = 1 << 20

// maxEnvRefs bounds the ${VAR} references of one line.
const maxEnvRefs = 256

// expandEnv replaces ${NAME} references with values from lookup, in the
// order found, each replacing every occurrence of its reference, exactly as
// pip does; unset or empty variables are left as written and returned.
func expandEnv(s string, lookup func(string) (string, bool)) (string, []string, error) {
	refs := findEnvRefs(s)
	if len(refs) > maxEnvRefs {
		// Each reference rescans the line, as in pip.
		return "", nil, fmt.Errorf("expanding variables: %d ${VAR} references on one line, more than the %d allowed", len(refs), maxEnvRefs)
	}
	var unset []string
	for _, ref := range refs {
		v, _ := lookup(ref.name)
		if v == "" {
			unset = append(unset, ref.name)
			continue
		}
		if n := strings.Count(s, ref.ref); n > 0 && len(s)+n*(len(v)-len(ref.ref)) > maxExpandedLine {
			return "", nil, fmt.Errorf("expanding ${%s}: the line would grow past %d bytes", ref.name, maxExpandedLine)
		}
		s = strings.ReplaceAll(s, ref.ref, v)
	}
	return s, unset, nil
}
