package pypitest

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/tartest"
)

func loadTree(t testing.TB) *Index {
	t.Helper()
	idx, err := Load(filepath.Join("..", "..", "testdata", "pypitest", "tree.toml"))
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func TestBuildIsDeterministic(t *testing.T) {
	first, err := loadTree(t).Build()
	if err != nil {
		t.Fatal(err)
	}
	second, err := loadTree(t).Build()
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != len(second) {
		t.Fatalf("built %d then %d files", len(first), len(second))
	}
	for i := range first {
		if first[i].Filename != second[i].Filename || !bytes.Equal(first[i].Data, second[i].Data) {
			t.Errorf("%s: second build differs", first[i].Filename)
		}
	}
}

func TestBuildGivesDifferentFilesDifferentPadding(t *testing.T) {
	idx := &Index{Projects: []Project{{Name: "a", Releases: []Release{
		{Version: "1.0", Wheels: []Wheel{{Tags: "py3-none-any", Size: 3000}}},
		{Version: "2.0", Wheels: []Wheel{{Tags: "py3-none-any", Size: 3000}}},
	}}}}
	fs, err := idx.Build()
	if err != nil {
		t.Fatal(err)
	}
	pad := func(f *File) []byte { return readZip(t, f.Data)["a/_padding.bin"] }
	if bytes.Equal(pad(fs[0]), pad(fs[1])) {
		t.Error("two wheels share their padding: a content-addressed store would dedupe them")
	}
}

func readZip(t testing.TB, data []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("reading zip: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		b, err := fs.ReadFile(zr, f.Name)
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = b
	}
	return out
}

func readTarGz(t testing.TB, data []byte) map[string][]byte {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for h, b := range tartest.Members(t, gz) {
		if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(zipTime) {
			t.Errorf("%s: uid %d gid %d mtime %v, want 0 0 %v", h.Name, h.Uid, h.Gid, h.ModTime, zipTime)
		}
		out[h.Name] = b
	}
	return out
}

func TestWheelRecordListsEveryMemberWithHashAndSize(t *testing.T) {
	fs, err := loadTree(t).Build()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.IsSdist {
			continue
		}
		members := checkRecord(t, f.Filename, f.Data)
		prefix := strings.SplitN(f.Filename, "-", 3)
		distInfo := prefix[0] + "-" + prefix[1] + ".dist-info/"
		if !bytes.Equal(members[distInfo+"METADATA"], f.Metadata) {
			t.Errorf("%s: METADATA differs from the metadata the index serves", f.Filename)
		}
	}
}

// checkRecord checks that the wheel data of the file named filename has
// fixed times and modes and a RECORD that lists every member with its
// hash and size, and returns its members.
func checkRecord(t *testing.T, filename string, data []byte) map[string][]byte {
	t.Helper()
	members := readZip(t, data)
	zr, _ := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	for _, m := range zr.File {
		if !m.Modified.Equal(zipTime) || m.Mode() != 0o644 {
			t.Errorf("%s: %s has mtime %v mode %v, want the fixed %v and 0644", filename, m.Name, m.Modified, m.Mode(), zipTime)
		}
	}
	prefix := strings.SplitN(filename, "-", 3)
	distInfo := prefix[0] + "-" + prefix[1] + ".dist-info/"
	rec := string(members[distInfo+"RECORD"])
	listed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(rec), "\n") {
		fields := strings.Split(line, ",")
		if len(fields) != 3 {
			t.Fatalf("%s: RECORD line %q", filename, line)
		}
		listed[fields[0]] = true
		if fields[0] == distInfo+"RECORD" {
			if fields[1] != "" || fields[2] != "" {
				t.Errorf("%s: RECORD lists a hash for itself: %q", filename, line)
			}
			continue
		}
		sum := sha256.Sum256(members[fields[0]])
		want := fmt.Sprintf("%s,sha256=%s,%d", fields[0], base64.RawURLEncoding.EncodeToString(sum[:]), len(members[fields[0]]))
		if line != want {
			t.Errorf("%s: RECORD line %q, want %q", filename, line, want)
		}
	}
	for name := range members {
		if !listed[name] {
			t.Errorf("%s: member %s missing from RECORD", filename, name)
		}
	}
	return members
}

func TestWheelFileDeclaresPurelibOnlyForPurePython(t *testing.T) {
	tests := []struct {
		tags     string
		purelib  bool
		tagLines []string
	}{
		{"py3-none-any", true, []string{"py3-none-any"}},
		{"py2.py3-none-any", true, []string{"py2-none-any", "py3-none-any"}},
		{"cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64", false, []string{"cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-manylinux2014_x86_64"}},
		{"cp311-abi3-any", false, []string{"cp311-abi3-any"}},
		{"py3-none-win_amd64", false, []string{"py3-none-win_amd64"}},
	}
	p := &Project{Name: "My_Pkg", Releases: []Release{{Version: "1.0"}}}
	for _, tt := range tests {
		f, err := BuildWheel(p, &p.Releases[0], Wheel{Tags: tt.tags})
		if err != nil {
			t.Fatal(err)
		}
		if want := "my_pkg-1.0-" + tt.tags + ".whl"; f.Filename != want {
			t.Errorf("file name %q, want %q", f.Filename, want)
		}
		wheel := string(readZip(t, f.Data)["my_pkg-1.0.dist-info/WHEEL"])
		var tags []string
		for _, line := range strings.Split(wheel, "\n") {
			if tag, ok := strings.CutPrefix(line, "Tag: "); ok {
				tags = append(tags, tag)
			}
		}
		if !strings.Contains(wheel, fmt.Sprintf("Root-Is-Purelib: %t\n", tt.purelib)) || !slices.Equal(tags, tt.tagLines) {
			t.Errorf("%s: WHEEL\n%s\nwant purelib %t and tags %v", tt.tags, wheel, tt.purelib, tt.tagLines)
		}
	}
}

func TestBuildPadsFilesToTheRequestedSize(t *testing.T) {
	p := &Project{Name: "pad", Releases: []Release{{Version: "1.0", Sdist: true}}}
	r := &p.Releases[0]
	for _, size := range []int{0, 100, 1500, 10_000, 123_457, 1 << 20} {
		t.Logf("size %d", size)
		w, err := BuildWheel(p, r, Wheel{Tags: "py3-none-any", Size: size})
		if err != nil {
			t.Fatal(err)
		}
		if size > 1200 && len(w.Data) != size {
			t.Errorf("wheel of size %d is %d bytes", size, len(w.Data))
		}
		r.SdistSize = size
		s, err := BuildSdist(p, r)
		if err != nil {
			t.Fatal(err)
		}
		// gzip frames incompressible data with some noise: close, not exact.
		if size > 1200 && (len(s.Data) < size-size/100-256 || len(s.Data) > size+size/100+256) {
			t.Errorf("sdist of size %d is %d bytes", size, len(s.Data))
		}
		// Padding must not compress: a test of transfer sizes relies on it.
		if size > 10_000 {
			var z bytes.Buffer
			gw := gzip.NewWriter(&z)
			gw.Write(w.Data)
			gw.Close()
			if z.Len() < size*99/100 {
				t.Errorf("wheel of %d bytes gzips to %d", size, z.Len())
			}
		}
	}
}

func TestSdistHoldsStaticPyprojectAndPKGINFO(t *testing.T) {
	idx := loadTree(t)
	p := &idx.Projects[0]
	f, err := BuildSdist(p, &p.Releases[0])
	if err != nil {
		t.Fatal(err)
	}
	if f.Filename != "app-1.0.tar.gz" {
		t.Fatalf("file name %q", f.Filename)
	}
	members := readTarGz(t, f.Data)
	for _, name := range []string{"app-1.0/", "app-1.0/PKG-INFO", "app-1.0/pyproject.toml", "app-1.0/app/__init__.py"} {
		if _, ok := members[name]; !ok {
			t.Errorf("sdist lacks %s", name)
		}
	}
	want := `[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "app"
version = "1.0"
description = "app 1.0, generated by pypitest"
dependencies = ["dep-a>=1", "old-only; python_version < \"3\"", "Web.Client>=2 ; sys_platform != \"win32\""]

[project.optional-dependencies]
"speed" = ["fast-lib"]

[tool.setuptools]
packages = ["app"]
`
	if got := string(members["app-1.0/pyproject.toml"]); got != want {
		t.Errorf("pyproject.toml:\n%s\nwant:\n%s", got, want)
	}
	if !bytes.Equal(members["app-1.0/PKG-INFO"], f.Metadata) {
		t.Error("PKG-INFO differs from File.Metadata")
	}
}

func TestSplitExtraMovesOnlyTopLevelExtraClauses(t *testing.T) {
	tests := []struct {
		req, extra, rest, err string
	}{
		{req: "a>=1", rest: "a>=1"},
		{req: `a; python_version < "3"`, rest: `a; python_version < "3"`},
		{req: `a[x]>=1; extra == "test"`, extra: "test", rest: "a[x]>=1"},
		{req: `a; extra=='test'`, extra: "test", rest: "a"},
		{req: `a ; (extra == "test")`, extra: "test", rest: "a"},
		{req: `a; python_version < "3.9" and extra == "t"`, extra: "t", rest: `a; python_version < "3.9"`},
		{req: `a; extra == "t" and os_name == "nt"`, extra: "t", rest: `a; os_name == "nt"`},
		{req: `a; (os_name == "nt" or os_name == "posix") and extra == "t"`, extra: "t", rest: `a; (os_name == "nt" or os_name == "posix")`},
		{req: `a; os_name == "nt" or extra == "t"`, err: "top level"},
		{req: `a; os_name == "nt" or sys_platform == "x" and extra == "t"`, err: "mixes"},
		{req: `a; extra == "t" or extra == "u"`, err: "exactly one"},
		{req: `a; "t" == extra`, err: "exactly one"},
	}
	for _, tt := range tests {
		extra, rest, err := splitExtra(tt.req)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("splitExtra(%q) error %v, want one containing %q", tt.req, err, tt.err)
			}
			continue
		}
		if err != nil || extra != tt.extra || rest != tt.rest {
			t.Errorf("splitExtra(%q) = %q, %q, %v; want %q, %q", tt.req, extra, rest, err, tt.extra, tt.rest)
		}
	}
}

func TestExpandTagsRejectsMalformedSets(t *testing.T) {
	for _, s := range []string{"", "py3-none", "py3-none-any-x", "py3..py2-none-any", "py3-no ne-any", "py3-none-", "py3-none-any.", "-none-any"} {
		if tags, err := ExpandTags(s); err == nil {
			t.Errorf("ExpandTags(%q) = %v, want an error", s, tags)
		}
	}
}

func TestFileNamesUseTheNormalizedEscapedProjectName(t *testing.T) {
	tests := []struct{ name, norm, file string }{
		{"Foo.Bar", "foo-bar", "foo_bar"},
		{"foo-bar", "foo-bar", "foo_bar"},
		{"Foo__Bar--baz", "foo-bar-baz", "foo_bar_baz"},
		{"zope.interface", "zope-interface", "zope_interface"},
		{"A", "a", "a"},
	}
	for _, tt := range tests {
		if got := Normalize(tt.name); got != tt.norm {
			t.Errorf("Normalize(%q) = %q, want %q", tt.name, got, tt.norm)
		}
		if got := FilenameName(tt.name); got != tt.file {
			t.Errorf("FilenameName(%q) = %q, want %q", tt.name, got, tt.file)
		}
		if got, want := SdistFilename(tt.name, "1.0"), tt.file+"-1.0.tar.gz"; got != want {
			t.Errorf("SdistFilename(%q) = %q, want %q", tt.name, got, want)
		}
	}
}

func TestVersionOrderFollowsPEP440(t *testing.T) {
	ascending := []string{"1.0.dev1", "1.0a1.dev1", "1.0a1", "1.0a2.post1.dev1", "1.0a2.post1", "1.0b1", "1.0rc1", "1.0", "1.0+abc", "1.0+abc.5", "1.0+5", "1.0.post1.dev1", "1.0.post1", "1.0.1", "1.10", "2", "1!0.1"}
	p := &Project{}
	for i := len(ascending) - 1; i >= 0; i-- {
		p.Releases = append(p.Releases, Release{Version: ascending[i]})
	}
	if got := sortedVersions(p); !slices.Equal(got, ascending) {
		t.Errorf("sorted %v\nwant   %v", got, ascending)
	}
	a, _ := parseVersion("1.0")
	b, _ := parseVersion("1.0.0")
	if compareVersions(a, b) != 0 {
		t.Error("1.0 and 1.0.0 compare unequal")
	}
}

func TestDefaultUploadTimeFollowsVersionOrder(t *testing.T) {
	p := &Project{Name: "t", Releases: []Release{
		{Version: "2.0", Wheels: []Wheel{{Tags: "py3-none-any"}}},
		{Version: "1.0", Wheels: []Wheel{{Tags: "py3-none-any"}}},
		{Version: "1.5", Wheels: []Wheel{{Tags: "py3-none-any"}}, UploadTime: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
	}}
	fs, err := buildProject(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Time{defaultUploadBase.Add(48 * time.Hour), defaultUploadBase, time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}
	for i, f := range fs {
		if !f.UploadTime.Equal(want[i]) {
			t.Errorf("%s uploaded at %v, want %v", f.Filename, f.UploadTime, want[i])
		}
	}
}

// TestRewriteWheelListsWhatItChangesUnlessToldTheRecordIsStale rewrites a
// built wheel: an added or edited member is listed in the new RECORD with
// its hash, as a wheel built so would be; with StaleRecord the RECORD is
// the old one, listing neither.
func TestRewriteWheelListsWhatItChangesUnlessToldTheRecordIsStale(t *testing.T) {
	w, err := BuildWheel(&Project{Name: "Acme.Tools"}, &Release{Version: "1.0"}, Wheel{Tags: "py3-none-any"})
	if err != nil {
		t.Fatal(err)
	}
	const record = "acme_tools-1.0.dist-info/RECORD"
	tail := func(name string, b []byte) []byte {
		if strings.HasSuffix(name, "/__init__.py") {
			return append(b, "# edited\n"...)
		}
		return b
	}
	tests := []struct {
		name string
		edit WheelEdit
		// want are members and what they hold after the rewrite.
		want map[string]string
		// stale says the RECORD is the old one.
		stale bool
	}{
		{"a member added", WheelEdit{Add: map[string]string{"acme_tools/evil.py": "import os\n"}}, map[string]string{"acme_tools/evil.py": "import os\n"}, false},
		{"a member edited", WheelEdit{Member: tail}, nil, false},
		{"a member edited under a stale RECORD", WheelEdit{Member: tail, StaleRecord: true}, nil, true},
		{"a member added under a stale RECORD", WheelEdit{Add: map[string]string{"acme_tools/extra.py": ""}, StaleRecord: true}, map[string]string{"acme_tools/extra.py": ""}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := RewriteWheel(w.Data, tt.edit)
			if err != nil {
				t.Fatal(err)
			}
			got := readZip(t, data)
			for name, body := range tt.want {
				if string(got[name]) != body {
					t.Errorf("%s holds %q, want %q", name, got[name], body)
				}
			}
			if init := got["acme_tools/__init__.py"]; (tt.edit.Member != nil) != bytes.HasSuffix(init, []byte("# edited\n")) {
				t.Errorf("__init__.py holds %q after the edit %v", init, tt.name)
			}
			if tt.stale {
				if old := readZip(t, w.Data)[record]; !bytes.Equal(got[record], old) {
					t.Errorf("RECORD was written again:\n%s", got[record])
				}
				return
			}
			checkRecord(t, w.Filename, data)
		})
	}
	if _, err := RewriteWheel([]byte("not a zip"), WheelEdit{}); err == nil {
		t.Errorf("a file that is not a zip was rewritten")
	}
}
