package wheelhouse

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// indented is manifest.json as encoding/json writes it: what
// MarshalManifest must give byte for byte.
func indented(t testing.TB, entries []Entry) []byte {
	t.Helper()
	files := slices.Clone(entries)
	if files == nil {
		files = []Entry{}
	}
	slices.SortFunc(files, func(a, b Entry) int { return strings.Compare(a.Filename, b.Filename) })
	b, err := json.MarshalIndent(manifest{Version: manifestVersion, Files: files}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func TestMarshalManifestWritesWhatEncodingJSONWrites(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	full := Entry{Filename: "demo-1.0-py3-none-any.whl", Project: "demo", Version: "1.0", SHA256: sha, Size: 1234,
		MetadataSHA256: strings.Repeat("cd", 32), RequiresPython: ">=3.8,<4",
		UploadTime: time.Date(2024, 3, 1, 12, 30, 45, 123456789, time.UTC),
		Origin: Origin{Kind: OriginVCS, URL: "https://example.com/r.git", Index: "https://pypi.org/simple/", Commit: strings.Repeat("1", 40),
			Sdist: "demo-1.0.tar.gz", SdistSHA256: sha, Uploader: "alice"},
		Targets: []string{"linux/amd64:3.11", "linux/arm64:3.12"}, Private: true}
	for _, tt := range []struct {
		name    string
		entries []Entry
	}{
		{"no entries", nil},
		{"an empty list", []Entry{}},
		{"every field set", []Entry{full}},
		{"only the fields without omitempty", []Entry{{Filename: "a-1.tar.gz", Project: "a", Version: "1", SHA256: sha}}},
		{"an origin of no kind", []Entry{{Filename: "a", Origin: Origin{URL: "u"}}}},
		{"empty targets are left out", []Entry{{Filename: "a", Targets: []string{}}}},
		{"one target", []Entry{{Filename: "a", Targets: []string{"t"}}}},
		{"an upload time with an offset and no fraction", []Entry{{Filename: "a", UploadTime: time.Date(2020, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 5*3600+30*60))}}},
		{"a negative size", []Entry{{Filename: "a", Size: -1}}},
		{"strings JSON and HTML escape", []Entry{{Filename: `a"b\c<d>e&f`, Project: "\x00\x1f\x7f", Version: "\u2028\u2029",
			RequiresPython: "é\xff\xfe", Origin: Origin{Kind: "\t\n\r\b\f", URL: "https://h/p?a=1&b=<2>"}, Targets: []string{"\u00e9", "ok"}}}},
		{"sorted by file name", []Entry{{Filename: "b"}, full, {Filename: "a"}, {Filename: "B"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MarshalManifest(tt.entries)
			if err != nil {
				t.Fatal(err)
			}
			if want := indented(t, tt.entries); !bytes.Equal(got, want) {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestMarshalManifestRefusesAnUploadTimeJSONCannotHold(t *testing.T) {
	_, err := MarshalManifest([]Entry{{Filename: "a-1.tar.gz", UploadTime: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}})
	if err == nil || !strings.Contains(err.Error(), "a-1.tar.gz") {
		t.Fatalf("got %v, want an error naming the file", err)
	}
}

// FuzzMarshalManifest holds MarshalManifest to encoding/json's bytes for
// any strings in any field.
func FuzzMarshalManifest(f *testing.F) {
	f.Add("demo-1.0-py3-none-any.whl", "1.0", ">=3.8", "index", "https://h/a&b", "linux/amd64", int64(5), int64(1700000000), false)
	f.Add("x<y>", "\u2028", "\xff", "", "", "", int64(-1), int64(0), true)
	f.Fuzz(func(t *testing.T, name, version, requiresPython, kind, url, target string, size, upload int64, private bool) {
		e := Entry{Filename: name, Project: version, Version: version, SHA256: name, Size: size, MetadataSHA256: url,
			RequiresPython: requiresPython, Origin: Origin{Kind: kind, URL: url, Uploader: target}, Private: private}
		if upload != 0 {
			e.UploadTime = time.Unix(upload%(1<<34), upload%1e9).UTC()
		}
		if target != "" {
			e.Targets = []string{target, name}
		}
		entries := []Entry{e, {Filename: target, Origin: Origin{Kind: url}}}
		got, err := MarshalManifest(entries)
		if err != nil {
			if _, jerr := json.Marshal(e); jerr == nil {
				t.Fatalf("MarshalManifest failed where encoding/json did not: %v", err)
			}
			return
		}
		if want := indented(t, entries); !bytes.Equal(got, want) {
			t.Fatalf("got\n%s\nwant\n%s", got, want)
		}
	})
}

func BenchmarkMarshalManifest(b *testing.B) {
	entries := make([]Entry, 300)
	for i := range entries {
		entries[i] = Entry{Filename: "project" + strings.Repeat("x", i%7) + "-1.0-py3-none-any.whl", Project: "project", Version: "1.0",
			SHA256: strings.Repeat("ab", 32), Size: int64(i) * 1000, MetadataSHA256: strings.Repeat("cd", 32), RequiresPython: ">=3.8",
			Origin: Origin{Kind: OriginIndex, URL: "https://files.example/packages/ab/cd/project-1.0-py3-none-any.whl", Index: "https://pypi.org/simple/"}}
	}
	b.Run("larder", func(b *testing.B) {
		for b.Loop() {
			if _, err := MarshalManifest(entries); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			indented(b, entries)
		}
	})
}
