package wheelhouse

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// unmarshalManifest decodes manifest.json as json.Unmarshal into a
// manifest does, errors and all. The manifests larder writes (and any in
// their shape) take a decoder of their own: one string for the whole
// file, which every value without an escape is a piece of, and no
// reflection. On the first thing it does not know (a key it was not
// written with, a null, a key twice, a number with a fraction, an escaped
// surrogate, bytes that are not UTF-8) it gives up and encoding/json,
// the reference, reads the file. Opening a store of thousands of files
// was mostly encoding/json's allocations.
func unmarshalManifest(b []byte) (manifest, error) {
	if m, ok := decodeManifest(b); ok {
		return m, nil
	}
	m := emptyManifest(b)
	err := json.Unmarshal(b, &m)
	return m, err
}

// emptyManifest is what both decoders append to: a slice sized for the
// entries b names, as they would grow one a dozen times on the way to
// thousands.
func emptyManifest(b []byte) manifest {
	return manifest{Files: make([]Entry, 0, bytes.Count(b, []byte(`"filename"`)))}
}

// decodeManifest is the decoder of its own: the manifest, or false when
// it gives up.
func decodeManifest(b []byte) (manifest, bool) {
	m := emptyManifest(b)
	if !utf8.Valid(b) {
		return m, false
	}
	d := &manifestDecoder{b: b, s: string(b)}
	return m, d.manifest(&m)
}

// manifestDecoder reads the JSON of a manifest from b (valid UTF-8),
// where s is b as one string. Each method reports false for anything it
// does not take.
type manifestDecoder struct {
	b []byte
	s string
	i int
}

func (d *manifestDecoder) manifest(m *manifest) bool {
	var seen [2]bool
	ok := d.object(func(key string) bool {
		switch key {
		case "version":
			v, ok := d.integer()
			if !ok || seen[0] || int64(int(v)) != v {
				return false
			}
			seen[0], m.Version = true, int(v)
			return true
		case "files":
			if seen[1] {
				return false
			}
			seen[1] = true
			return d.array(func() bool {
				var e Entry
				if !d.entry(&e) {
					return false
				}
				m.Files = append(m.Files, e)
				return true
			})
		}
		return false
	})
	d.space()
	return ok && d.i == len(d.b)
}

// entryKeys are the keys of an entry, by the bit that marks one seen.
var entryKeys = map[string]uint{
	"filename": 0, "project": 1, "version": 2, "sha256": 3, "size": 4, "metadata_sha256": 5,
	"requires_python": 6, "upload_time": 7, "origin": 8, "targets": 9, "private": 10,
}

// originKeys are the keys of an origin, by the bit that marks one seen,
// in the order of Origin's fields.
var originKeys = map[string]uint{
	"kind": 0, "url": 1, "index": 2, "commit": 3, "sdist": 4, "sdist_sha256": 5, "uploader": 6,
}

func (d *manifestDecoder) entry(e *Entry) bool {
	// The string fields, at the bits of their keys.
	strs := [...]*string{0: &e.Filename, 1: &e.Project, 2: &e.Version, 3: &e.SHA256, 5: &e.MetadataSHA256, 6: &e.RequiresPython}
	return d.fields(entryKeys, func(key string, bit uint) bool {
		if int(bit) < len(strs) && strs[bit] != nil {
			v, ok := d.str()
			*strs[bit] = v
			return ok
		}
		ok := false
		switch key {
		case "size":
			e.Size, ok = d.integer()
		case "upload_time":
			// What encoding/json hands time.Time: the literal, quotes and
			// all.
			d.space()
			start := d.i
			if _, ok = d.str(); ok {
				ok = e.UploadTime.UnmarshalJSON(d.b[start:d.i]) == nil
			}
		case "origin":
			ok = d.origin(&e.Origin)
		case "targets":
			e.Targets = []string{}
			ok = d.array(func() bool {
				t, ok := d.str()
				e.Targets = append(e.Targets, t)
				return ok
			})
		case "private":
			e.Private, ok = d.boolean()
		}
		return ok
	})
}

func (d *manifestDecoder) origin(o *Origin) bool {
	strs := [...]*string{&o.Kind, &o.URL, &o.Index, &o.Commit, &o.Sdist, &o.SdistSHA256, &o.Uploader}
	return d.fields(originKeys, func(_ string, bit uint) bool {
		v, ok := d.str()
		*strs[bit] = v
		return ok
	})
}

// fields reads an object whose keys are all keys of keys, each once;
// field reads the value of one, given its key and bit.
func (d *manifestDecoder) fields(keys map[string]uint, field func(key string, bit uint) bool) bool {
	var seen uint
	return d.object(func(key string) bool {
		bit, known := keys[key]
		if !known || seen&(1<<bit) != 0 {
			return false
		}
		seen |= 1 << bit
		return field(key, bit)
	})
}

// object reads {"key": value, ...}, value read by field after the colon.
func (d *manifestDecoder) object(field func(key string) bool) bool {
	if !d.next('{') {
		return false
	}
	if d.next('}') {
		return true
	}
	for {
		key, ok := d.str()
		if !ok || !d.next(':') || !field(key) {
			return false
		}
		if d.next('}') {
			return true
		}
		if !d.next(',') {
			return false
		}
	}
}

// array reads [value, ...], each value read by elem.
func (d *manifestDecoder) array(elem func() bool) bool {
	if !d.next('[') {
		return false
	}
	if d.next(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if d.next(']') {
			return true
		}
		if !d.next(',') {
			return false
		}
	}
}

// space skips JSON's white space.
func (d *manifestDecoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next consumes c, after white space, if it comes next.
func (d *manifestDecoder) next(c byte) bool {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// str reads a string: a piece of s when it has no escape.
func (d *manifestDecoder) str() (string, bool) {
	if !d.next('"') {
		return "", false
	}
	start := d.i
	for j := start; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			d.i = j + 1
			return d.s[start:j], true
		case c == '\\':
			return d.unescape(start, j)
		case c < 0x20:
			return "", false
		}
	}
	return "", false
}

// unescape reads the rest of a string from its first escape, at j.
func (d *manifestDecoder) unescape(start, j int) (string, bool) {
	out := append(make([]byte, 0, j-start+16), d.b[start:j]...)
	for j < len(d.b) {
		c := d.b[j]
		switch {
		case c == '"':
			d.i = j + 1
			return string(out), true
		case c < 0x20:
			return "", false
		case c != '\\':
			out = append(out, c)
			j++
			continue
		}
		if j+1 >= len(d.b) {
			return "", false
		}
		switch e := d.b[j+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(d.b[j+2:])
			if !ok || (r >= 0xd800 && r < 0xe000) { // a surrogate: encoding/json's
				return "", false
			}
			out = utf8.AppendRune(out, r)
			j += 4
		default:
			return "", false
		}
		j += 2
	}
	return "", false
}

// hex4 reads the four hex digits of a \u escape.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// integer reads a JSON number that is an integer of 64 bits.
func (d *manifestDecoder) integer() (int64, bool) {
	d.space()
	j := d.i
	if j < len(d.b) && d.b[j] == '-' {
		j++
	}
	switch {
	case j < len(d.b) && d.b[j] == '0':
		j++
	case j < len(d.b) && '1' <= d.b[j] && d.b[j] <= '9':
		for j < len(d.b) && '0' <= d.b[j] && d.b[j] <= '9' {
			j++
		}
	default:
		return 0, false
	}
	if j < len(d.b) && (d.b[j] == '.' || d.b[j] == 'e' || d.b[j] == 'E') {
		return 0, false
	}
	v, err := strconv.ParseInt(d.s[d.i:j], 10, 64)
	if err != nil {
		return 0, false
	}
	d.i = j
	return v, true
}

// boolean reads true or false.
func (d *manifestDecoder) boolean() (bool, bool) {
	d.space()
	switch {
	case len(d.b)-d.i >= 4 && d.s[d.i:d.i+4] == "true":
		d.i += 4
		return true, true
	case len(d.b)-d.i >= 5 && d.s[d.i:d.i+5] == "false":
		d.i += 5
		return false, true
	}
	return false, false
}
