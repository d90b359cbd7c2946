package wheelhouse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// indented is manifest.json as encoding/json writes it, and as
// MarshalManifest wrote it with it: what MarshalManifest must give byte
// for byte.
func indented(t testing.TB, entries []Entry) []byte {
	t.Helper()
	files := append([]Entry{}, entries...)
	sort.Slice(files, func(i, j int) bool { return files[i].Filename < files[j].Filename })
	b, err := json.MarshalIndent(manifest{Version: manifestVersion, Files: files}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// fullEntry is an entry with every field set.
func fullEntry() Entry {
	sha := strings.Repeat("ab", 32)
	return Entry{Filename: "demo-1.0-py3-none-any.whl", Project: "demo", Version: "1.0", SHA256: sha, Size: 1234,
		MetadataSHA256: strings.Repeat("cd", 32), RequiresPython: ">=3.8,<4",
		UploadTime: time.Date(2024, 3, 1, 12, 30, 45, 123456789, time.UTC),
		Origin: Origin{Kind: OriginVCS, URL: "https://example.com/r.git", Index: "https://pypi.org/simple/", Commit: strings.Repeat("1", 40),
			Sdist: "demo-1.0.tar.gz", SdistSHA256: sha, Uploader: "alice"},
		Targets: []string{"linux/amd64:3.11", "linux/arm64:3.12"}, Private: true}
}

func TestMarshalManifestWritesWhatEncodingJSONWrites(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	full := fullEntry()
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

// TestMarshalManifestOrdersEntriesOfOneNameAsBefore gives entries
// sharing file names, which two unstable sorts may order differently.
func TestMarshalManifestOrdersEntriesOfOneNameAsBefore(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 200 {
		es := make([]Entry, n)
		for i := range es {
			es[i] = Entry{Filename: fmt.Sprintf("f%d", r.IntN(max(1, n/3))), Size: int64(i)}
		}
		got, err := MarshalManifest(es)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, indented(t, es)) {
			t.Fatalf("%d entries: not the bytes encoding/json writes", n)
		}
	}
}

// FuzzMarshalManifest holds MarshalManifest to encoding/json's bytes for
// any strings in every field, any upload time in any zone, and empty,
// missing or several targets.
func FuzzMarshalManifest(f *testing.F) {
	f.Add("a", "b", "c", "d", "e", "f", "g", "h", int64(1), int64(1700000000), int64(5), int32(3600), uint8(3))
	f.Add("\u2028<", "\xff", "&", "", "\x7f", "\"\\", "\t", "é", int64(-1), int64(-62135596800), int64(0), int32(-45), uint8(0))
	f.Fuzz(func(t *testing.T, s1, s2, s3, s4, s5, s6, s7, s8 string, size, sec, nsec int64, off int32, flags uint8) {
		e := Entry{Filename: s1, Project: s2, Version: s3, SHA256: s4, Size: size, MetadataSHA256: s5, RequiresPython: s6,
			Origin:  Origin{Kind: s7, URL: s8, Index: s1, Commit: s2, Sdist: s3, SdistSHA256: s4, Uploader: s5},
			Private: flags&1 != 0}
		if flags&2 != 0 {
			e.UploadTime = time.Unix(sec%(1<<36), nsec%2e9).In(time.FixedZone(s8, int(off)))
		}
		switch flags >> 2 % 4 {
		case 1:
			e.Targets = []string{}
		case 2:
			e.Targets = []string{s6}
		case 3:
			e.Targets = []string{s7, s8, ""}
		}
		entries := []Entry{e, {Filename: s2, Origin: Origin{Kind: s1}}, e}
		got, err := MarshalManifest(entries)
		files := append([]Entry{}, entries...)
		sort.Slice(files, func(i, j int) bool { return files[i].Filename < files[j].Filename })
		want, werr := json.MarshalIndent(manifest{Version: manifestVersion, Files: files}, "", "  ")
		if (err != nil) != (werr != nil) {
			t.Fatalf("error %v, encoding/json's %v", err, werr)
		}
		if err == nil && !bytes.Equal(got, append(want, '\n')) {
			t.Fatalf("got\n%q\nwant\n%q", got, want)
		}
	})
}

// benchEntries is n entries of the shape fetch records.
func benchEntries(n int) []Entry {
	entries := make([]Entry, n)
	for i := range entries {
		entries[i] = Entry{Filename: "project" + strings.Repeat("x", i%7) + "-1.0-py3-none-any.whl", Project: "project", Version: "1.0",
			SHA256: strings.Repeat("ab", 32), Size: int64(i) * 1000, MetadataSHA256: strings.Repeat("cd", 32), RequiresPython: ">=3.8",
			Origin: Origin{Kind: OriginIndex, URL: "https://files.example/packages/ab/cd/project-1.0-py3-none-any.whl", Index: "https://pypi.org/simple/"}}
	}
	return entries
}

// sideBySide benchmarks larder's way and encoding/json's, one sub-benchmark
// each.
func sideBySide(b *testing.B, larder, encodingJSON func(b *testing.B) error) {
	for _, s := range []struct {
		name string
		run  func(b *testing.B) error
	}{{"larder", larder}, {"encoding-json", encodingJSON}} {
		b.Run(s.name, func(b *testing.B) {
			for b.Loop() {
				if err := s.run(b); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMarshalManifest(b *testing.B) {
	entries := benchEntries(300)
	sideBySide(b, func(*testing.B) error {
		_, err := MarshalManifest(entries)
		return err
	}, func(b *testing.B) error {
		indented(b, entries)
		return nil
	})
}

// TestEntriesAreEqualOnlyWhenEveryFieldIs changes each field of an entry
// (found by reflection, so that a field added to Entry is tried too) and
// checks that Equal sees it; an upload time of the same instant in
// another zone differs too, as manifest.json writes it otherwise.
func TestEntriesAreEqualOnlyWhenEveryFieldIs(t *testing.T) {
	base := keyedEntries()[0]
	base.UploadTime = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	base.Targets = []string{"linux/amd64"}
	if !base.Equal(base) {
		t.Fatal("an entry is not equal to itself")
	}
	same := base
	same.Targets = slices.Clone(base.Targets)
	if !base.Equal(same) {
		t.Error("an entry is not equal to a copy of itself with its own Targets")
	}
	for i := range reflect.TypeFor[Entry]().NumField() {
		for _, variant := range []int{1, 2} {
			e := base
			e.Targets = slices.Clone(base.Targets)
			f := reflect.ValueOf(&e).Elem().Field(i)
			name := reflect.TypeFor[Entry]().Field(i).Name
			if !mutate(f, variant) {
				t.Fatalf("no way to change field %s (%s): teach mutate", name, f.Type())
			}
			if e.Equal(base) || base.Equal(e) {
				t.Errorf("changing %s (variant %d) leaves the entries equal", name, variant)
			}
		}
	}
	zoned := base
	zoned.UploadTime = base.UploadTime.In(time.FixedZone("x", 3600))
	if base.Equal(zoned) {
		t.Error("an upload time of the same instant in another zone is equal, but manifest.json writes it otherwise")
	}
}
