package wheelhouse

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// referenceManifest is what encoding/json makes of b, into the slice
// unmarshalManifest starts from.
func referenceManifest(b []byte) (manifest, error) {
	m := emptyManifest(b)
	err := json.Unmarshal(b, &m)
	return m, err
}

func writtenManifests(t testing.TB) map[string][]byte {
	sha := strings.Repeat("ab", 32)
	full := fullEntry()
	out := map[string][]byte{}
	for name, entries := range map[string][]Entry{
		"no entries":      nil,
		"every field set": {full},
		"the fewest":      {{Filename: "a-1.tar.gz", Project: "a", Version: "1", SHA256: sha}},
		"a negative size": {{Filename: "a", Size: -1}},
		"an offset zone":  {{Filename: "a", UploadTime: time.Date(2020, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 5*3600+30*60))}},
		"escapes of every kind": {{Filename: `a"b\c<d>e&f/`, Project: "\x00\x1f\x7f", Version: "\u2028\u2029",
			RequiresPython: "é\xff\xfe>=3.8", Origin: Origin{Kind: "\t\n\r\b\f", URL: "https://h/p?a=1&b=<2>"}, Targets: []string{"\u00e9", "ok", "😀"}}},
		"many": func() []Entry {
			var es []Entry
			for i := range 50 {
				e := full
				e.Filename = fmt.Sprintf("p%02d-1.0-py3-none-any.whl", i)
				e.Targets = nil
				es = append(es, e)
			}
			return es
		}(),
	} {
		b, err := MarshalManifest(entries)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = b
	}
	return out
}

// TestTheManifestsLarderWritesAreReadWithoutEncodingJSON: what
// MarshalManifest writes, escapes, zones and all, takes the decoder of
// its own, which reads it as encoding/json does.
func TestTheManifestsLarderWritesAreReadWithoutEncodingJSON(t *testing.T) {
	for name, b := range writtenManifests(t) {
		t.Run(name, func(t *testing.T) {
			got, ok := decodeManifest(b)
			if !ok {
				t.Fatalf("the decoder gave up on\n%s", b)
			}
			want, err := referenceManifest(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestTheDecoderLeavesWhatItDoesNotKnowToEncodingJSON: a manifest in
// another shape, odd or broken, is read (or refused) as encoding/json
// reads it.
func TestTheDecoderLeavesWhatItDoesNotKnowToEncodingJSON(t *testing.T) {
	for _, tt := range []struct{ name, doc string }{
		{"a key in other case", `{"version": 1, "files": [{"FileName": "a", "size": 1}]}`},
		{"a key it does not know", `{"version": 1, "files": [{"filename": "a", "yanked": true}]}`},
		{"a top-level key it does not know", `{"version": 1, "files": [], "extra": {"a": [1, 2]}}`},
		{"a null", `{"version": 1, "files": [{"filename": null}]}`},
		{"null files", `{"version": 1, "files": null}`},
		{"a key twice", `{"version": 1, "files": [{"filename": "a", "filename": "b"}]}`},
		{"an origin twice", `{"version": 1, "files": [{"filename": "a", "origin": {"kind": "x"}, "origin": {"url": "y"}}]}`},
		{"a size with a fraction", `{"version": 1, "files": [{"filename": "a", "size": 1.0}]}`},
		{"a size with an exponent", `{"version": 1, "files": [{"filename": "a", "size": 1e3}]}`},
		{"a size past 64 bits", `{"version": 1, "files": [{"filename": "a", "size": 9223372036854775808}]}`},
		{"a size as a string", `{"version": 1, "files": [{"filename": "a", "size": "1"}]}`},
		{"a leading zero", `{"version": 01, "files": []}`},
		{"a surrogate pair", `{"version": 1, "files": [{"filename": "\ud83d\ude00"}]}`},
		{"a lone surrogate", `{"version": 1, "files": [{"filename": "\ud800x"}]}`},
		{"a bad escape", `{"version": 1, "files": [{"filename": "\x"}]}`},
		{"a short \\u", `{"version": 1, "files": [{"filename": "\u12"}]}`},
		{"a raw control character", "{\"version\": 1, \"files\": [{\"filename\": \"a\x01\"}]}"},
		{"bytes that are not UTF-8", "{\"version\": 1, \"files\": [{\"filename\": \"a\xff\"}]}"},
		{"a byte-order mark", "\ufeff{\"version\": 1, \"files\": []}"},
		{"trailing bytes", `{"version": 1, "files": []} x`},
		{"a trailing comma", `{"version": 1, "files": [],}`},
		{"truncated", `{"version": 1, "files": [{"filename": "a"`},
		{"an upload time with an escape", `{"version": 1, "files": [{"filename": "a", "upload_time": "2024-01-01T00:00:00\u005a"}]}`},
		{"an upload time that is not one", `{"version": 1, "files": [{"filename": "a", "upload_time": "yesterday"}]}`},
		{"a target that is a number", `{"version": 1, "files": [{"filename": "a", "targets": ["x", 1]}]}`},
		{"private as a string", `{"version": 1, "files": [{"filename": "a", "private": "true"}]}`},
		{"truex", `{"version": 1, "files": [{"filename": "a", "private": truex}]}`},
		{"an array at the top", `[]`},
		{"nothing", ``},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := decodeManifest([]byte(tt.doc)); ok {
				t.Errorf("the decoder took %q", tt.doc)
			}
			got, err := unmarshalManifest([]byte(tt.doc))
			want, werr := referenceManifest([]byte(tt.doc))
			if fmt.Sprint(err) != fmt.Sprint(werr) || !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, %v\nwant %+v, %v", got, err, want, werr)
			}
		})
	}
}

// FuzzManifestDecoderAgreesWithEncodingJSON: whatever the decoder of its
// own takes, encoding/json takes too and reads the same.
func FuzzManifestDecoderAgreesWithEncodingJSON(f *testing.F) {
	for _, b := range writtenManifests(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"files":[{"filename":"a\u00e9\n","size":-0,"targets":[],"private":false,"origin":{}}],"version":1}`))
	f.Add([]byte(` { "version" : 1 , "files" : [ { } , { "upload_time" : "2024-01-01T00:00:00+05:30" } ] } `))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := decodeManifest(b)
		if !ok {
			return // encoding/json reads it
		}
		want, err := referenceManifest(b)
		if err != nil {
			t.Fatalf("the decoder took what encoding/json refuses (%v): %q", err, b)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\ngot %+v\nwant %+v", b, got, want)
		}
	})
}

func BenchmarkUnmarshalManifest(b *testing.B) {
	entries := benchEntries(3000)
	data, err := MarshalManifest(entries)
	if err != nil {
		b.Fatal(err)
	}
	sideBySide(b, func(*testing.B) error {
		_, err := unmarshalManifest(data)
		return err
	}, func(*testing.B) error {
		_, err := referenceManifest(data)
		return err
	})
}
