package dist

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/larder-build/larder/internal/readlimit"
)

// MaxMetadataSize bounds the metadata read from one file. Descriptions can
// be long READMEs, but nothing real comes near this.
const MaxMetadataSize = 32 << 20

// newestMetadataMajor is the newest Metadata-Version major this reader knows.
const newestMetadataMajor = 2

// Metadata is a distribution's core metadata (METADATA in a wheel, PKG-INFO
// in an sdist). The named fields hold what the resolver uses, trimmed of
// surrounding white space; Fields holds every header as found.
type Metadata struct {
	MetadataVersion        string // "2.1"
	Name                   string // as written; compare with NormalizeName
	Version                string // as written; parse with resolver/pep440
	Summary                string
	Description            string // the message body, or the Description header unfolded
	DescriptionContentType string
	RequiresPython         string   // a specifier set, e.g. ">=3.8"
	RequiresDist           []string // PEP 508 requirement strings, in file order
	ProvidesExtra          []string
	Dynamic                []string // field names an sdist leaves to the build (2.2+)

	// Fields maps each header name, lower-cased, to its values in file
	// order. A value is as the email parser gives it: leading blanks of the
	// first line dropped, continuation lines kept after "\n". Line endings
	// are "\n" whatever the file used.
	Fields map[string][]string
}

// Get returns the first value of a header, matched without regard to case,
// or "" when there is none.
func (m *Metadata) Get(name string) string {
	if v := m.Fields[strings.ToLower(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// ParseMetadata reads core metadata: email-style headers ("Name: value",
// continuation lines starting with a blank, repeated fields), then after an
// empty line an optional body, the description (Metadata 2.1+).
//
// The core metadata specification defines the format as what Python's
// email.parser reads with the compat32 policy, and this follows it: a line
// that is neither a header nor a continuation ends the headers and starts
// the body. Metadata-Version, Name and Version are required, and a
// Metadata-Version with a major version above 2 is an error, as the
// specification says consumers MUST fail on one.
func ParseMetadata(r io.Reader) (*Metadata, error) {
	data, err := readlimit.ReadAll(r, MaxMetadataSize)
	if err != nil {
		return nil, fmt.Errorf("reading metadata: %w", err)
	}
	fields, body := parseHeaders(string(data))
	m := &Metadata{Fields: fields}
	if err := m.fill(body); err != nil {
		return nil, fmt.Errorf("parsing metadata: %w", err)
	}
	return m, nil
}

func (m *Metadata) fill(body string) error {
	one := func(name string) string { return strings.TrimSpace(m.Get(name)) }
	all := func(name string) []string {
		vs := m.Fields[name]
		if len(vs) == 0 {
			return nil
		}
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = strings.TrimSpace(v)
		}
		return out
	}
	m.MetadataVersion = one("metadata-version")
	m.Name = one("name")
	m.Version = one("version")
	if err := checkMetadataVersion(m.MetadataVersion, m.Fields); err != nil {
		return err
	}
	if m.Name == "" {
		return fmt.Errorf("no Name (%s)", describe(m.Fields))
	}
	if m.Version == "" {
		return fmt.Errorf("no Version for %q (%s)", m.Name, describe(m.Fields))
	}
	m.Summary = one("summary")
	m.DescriptionContentType = one("description-content-type")
	m.RequiresPython = one("requires-python")
	m.RequiresDist = all("requires-dist")
	m.ProvidesExtra = all("provides-extra")
	m.Dynamic = all("dynamic")
	if body != "" {
		m.Description = body
	} else if d, ok := m.Fields["description"]; ok {
		m.Description = unfoldDescription(d[0])
	}
	return nil
}

func checkMetadataVersion(v string, fields map[string][]string) error {
	if v == "" {
		return fmt.Errorf("no Metadata-Version (%s)", describe(fields))
	}
	major, minor, ok := strings.Cut(v, ".")
	maj, err1 := strconv.Atoi(major)
	_, err2 := strconv.Atoi(minor)
	if !ok || err1 != nil || err2 != nil || maj < 0 || major[0] == '+' || minor[0] == '+' || minor[0] == '-' {
		return fmt.Errorf("Metadata-Version %q: want MAJOR.MINOR, e.g. 2.1", v)
	}
	if maj > newestMetadataMajor {
		return fmt.Errorf("Metadata-Version %q: major version %d is newer than %d, the newest this reader knows", v, maj, newestMetadataMajor)
	}
	if maj < 1 {
		return fmt.Errorf("Metadata-Version %q: no such version (the first is 1.0)", v)
	}
	return nil
}

// describe lists the headers found, for errors about missing ones.
func describe(fields map[string][]string) string {
	if len(fields) == 0 {
		return "no headers found"
	}
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	const most = 8
	if len(names) > most {
		names = append(names[:most], "...")
	}
	return "headers found: " + strings.Join(names, ", ")
}

// parseHeaders splits metadata into its headers and body the way Python's
// email.feedparser does with the compat32 policy: first the header block is
// cut off, then its lines are read into fields.
func parseHeaders(s string) (map[string][]string, string) {
	lines, body := headerBlock(normalizeNewlines(s))
	fields := make(map[string][]string)
	var name string    // header being read, "" when none
	var value []string // its lines
	flush := func() {
		if name != "" {
			key := strings.ToLower(name)
			fields[key] = append(fields[key], strings.TrimRight(strings.Join(value, "\n"), "\n"))
		}
		name, value = "", nil
	}
	for i, line := range lines {
		if line[0] == ' ' || line[0] == '\t' {
			if name != "" {
				value = append(value, line)
			}
			continue // a continuation of no header is dropped
		}
		flush()
		if strings.HasPrefix(line, "From ") {
			// An mbox envelope line: dropped, unless it ends the block, when
			// the email parser takes it for the first line of the body.
			if i > 0 && i == len(lines)-1 {
				body = line + "\n" + body
			}
			continue
		}
		c := strings.IndexByte(line, ':')
		if c == 0 {
			continue // no header name: dropped, with its continuation lines
		}
		name = line[:c]
		value = []string{strings.TrimLeft(line[c+1:], " \t")}
	}
	flush()
	return fields, body
}

// headerBlock returns the lines of the header block and the body. The block
// ends at an empty line, which belongs to neither, or at the first line that
// is not a header line, which starts the body.
func headerBlock(s string) (lines []string, body string) {
	rest := s
	for rest != "" {
		line, after, _ := strings.Cut(rest, "\n")
		if line == "" {
			return lines, after
		}
		if !isHeaderLine(line) {
			return lines, rest
		}
		lines = append(lines, line)
		rest = after
	}
	return lines, ""
}

// isHeaderLine matches what the email parser takes as part of the header
// block: a continuation (leading blank), an envelope "From " line, or a
// name of printable ASCII other than ":" followed by ":".
func isHeaderLine(line string) bool {
	if line[0] == ' ' || line[0] == '\t' || strings.HasPrefix(line, "From ") {
		return true
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c == ':' {
			return true
		}
		if c < '!' || c > '~' {
			return false
		}
	}
	return false
}

func normalizeNewlines(s string) string {
	if strings.IndexByte(s, '\r') < 0 {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

// unfoldDescription undoes the folding of a Description header. The
// specification folds each line with 7 spaces and "|"; setuptools and
// distutils wrote 8 spaces instead.
func unfoldDescription(v string) string {
	lines := strings.Split(v, "\n")
	for i := 1; i < len(lines); i++ {
		l := lines[i]
		switch {
		case strings.HasPrefix(l, "       |"):
			l = l[8:]
		case strings.HasPrefix(l, "        "):
			l = l[8:]
		default:
			l = strings.TrimLeft(l, " \t")
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}
