package uvlock

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/tomldoctest"
)

// fixture is hand-written: no real uv.lock is small enough for testdata.
// It follows the format uv writes (version 1, revision 2) for a Django site
// with a git dependency, platform wheels, markers, extras, a dependency
// group and a package locked at two versions in two forks; its hashes are
// sha256 of the file names, not of real files.
const fixture = "../../testdata/uvlock/uv.lock"

func find(t *testing.T, l *Lock, name, version string) *Package {
	t.Helper()
	for i := range l.Packages {
		if p := &l.Packages[i]; p.Name == name && (version == "" || p.Version == version) {
			return p
		}
	}
	t.Fatalf("no package %s %s", name, version)
	return nil
}

func TestLoadReadsAHandWrittenLockInUVsFormat(t *testing.T) {
	l, err := Load(fixture)
	if err != nil {
		t.Fatal(err)
	}
	if l.Version != 1 || l.Revision != 2 || l.RequiresPython != ">=3.11" || len(l.ResolutionMarkers) != 2 {
		t.Errorf("header = %d %d %q %q", l.Version, l.Revision, l.RequiresPython, l.ResolutionMarkers)
	}
	if l.Options.ExcludeNewer != "2025-06-01T00:00:00Z" {
		t.Errorf("options = %+v", l.Options)
	}
	if len(l.Manifest.Constraints) != 1 || l.Manifest.Constraints[0].PEP508() != "urllib3<3" || l.Manifest.Overrides[0].Name != "sqlparse" {
		t.Errorf("manifest = %+v", l.Manifest)
	}
	if len(l.Packages) != 20 {
		t.Errorf("got %d packages, want 20", len(l.Packages))
	}

	django := find(t, l, "django", "")
	if django.Version != "5.2.1" || django.Source != (Source{Kind: SourceRegistry, Value: "https://pypi.org/simple"}) {
		t.Errorf("django = %s %v", django.Version, django.Source)
	}
	if d := django.Dependencies[2]; d.Name != "tzdata" || d.Marker != "sys_platform == 'win32'" {
		t.Errorf("django dependency = %+v", d)
	}
	if s := django.Sdist; s == nil || s.Size != 10818735 || !strings.HasPrefix(s.Hash, "sha256:") ||
		!s.UploadTime.Equal(time.Date(2025, 5, 7, 15, 6, 23, 10000000, time.UTC)) || s.Name() != "django-5.2.1.tar.gz" {
		t.Errorf("django sdist = %+v", django.Sdist)
	}

	cn := find(t, l, "charset-normalizer", "")
	if len(cn.Wheels) != 8 || cn.Wheels[2].Name() != "charset_normalizer-3.4.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl" {
		t.Errorf("charset-normalizer wheels = %d, [2] %q", len(cn.Wheels), cn.Wheels[2].Name())
	}

	root := find(t, l, "demo-site", "")
	if root.Source != (Source{Kind: SourceEditable, Value: "."}) || root.Sdist != nil || len(root.Wheels) != 0 {
		t.Errorf("root = %+v", root)
	}
	if d := root.Dependencies[2]; d.Name != "requests" || !reflect.DeepEqual(d.Extra, []string{"socks"}) {
		t.Errorf("root dependency with extra = %+v", d)
	}
	if len(root.OptionalDependencies["postgres"]) != 1 || root.DevDependencies["test"][0].Name != "pytest" {
		t.Errorf("root extras %+v, groups %+v", root.OptionalDependencies, root.DevDependencies)
	}
	var pep508 []string
	for _, r := range root.Metadata.RequiresDist {
		pep508 = append(pep508, r.PEP508())
	}
	want := []string{
		"django>=4.2,<6.0",
		"psycopg2-binary; sys_platform == 'linux'",
		"psycopg2-binary>=2.9; extra == 'postgres'",
		"requests[socks]>=2.31",
		"xblocks-core @ git+https://github.com/openedx/xblocks-core@kdmccormick/xblocks-core",
	}
	if !reflect.DeepEqual(pep508, want) {
		t.Errorf("requires-dist as PEP 508:\n got %q\nwant %q", pep508, want)
	}
	if !reflect.DeepEqual(root.Metadata.ProvidesExtras, []string{"postgres"}) || root.Metadata.RequiresDev["test"][0].Specifier != ">=8" {
		t.Errorf("metadata = %+v", root.Metadata)
	}

	xb := find(t, l, "xblocks-core", "")
	g, err := xb.Source.Git()
	wantGit := GitSource{URL: "https://github.com/openedx/xblocks-core", Branch: "kdmccormick/xblocks-core", Commit: "4c1b7b3f2b0d1a9e8f7c6d5e4b3a29180f7e6d5c"}
	if err != nil || g != wantGit {
		t.Errorf("git source = %+v, %v", g, err)
	}

	old := find(t, l, "typing-extensions", "4.12.2")
	if !reflect.DeepEqual(old.ResolutionMarkers, []string{"python_full_version < '3.12'"}) {
		t.Errorf("fork markers = %q", old.ResolutionMarkers)
	}
	if d := find(t, l, "asgiref", "").Dependencies[0]; d.Version != "4.12.2" || d.Source == nil || d.Source.Kind != SourceRegistry {
		t.Errorf("versioned dependency = %+v", d)
	}
}

// base is a valid lock; each error case edits one line of it.
const base = `version = 1
revision = 2
requires-python = ">=3.11"

[[package]]
name = "demo"
version = "0.1.0"
source = { editable = "." }
dependencies = [
    { name = "six" },
]

[package.metadata]
requires-dist = [{ name = "six", specifier = ">=1.16" }]

[[package]]
name = "six"
version = "1.17.0"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://example.org/six-1.17.0.tar.gz", hash = "sha256:ab", size = 10, upload-time = "2024-12-04T17:35:28.174Z" }
wheels = [
    { url = "https://example.org/six-1.17.0-py2.py3-none-any.whl", hash = "sha256:cd", size = 11 },
]
`

func TestLoadErrorsNameFileLineAndKey(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		want     string
	}{
		{"unknown version", `version = 1`, `version = 2`,
			`uv.lock:1: version: unsupported uv.lock version 2: this reader knows version 1`},
		{"version of the wrong type", `version = 1`, `version = "1"`,
			`uv.lock:1: version: expected an integer, got string "1"`},
		{"missing version", "version = 1\n", "",
			`uv.lock: version: missing required key`},
		{"bad requirement string", `specifier = ">=1.16"`, `specifier = ">=>1.16"`,
			`uv.lock:14: package[0].metadata.requires-dist[0]: parsing "six>=>1.16": `},
		{"bad dependency marker", `{ name = "six" },`, `{ name = "six", marker = "python_version >" },`,
			`uv.lock:10: package[0].dependencies[0].marker: parsing "python_version >": `},
		{"malformed hash", `hash = "sha256:cd"`, `hash = "cd"`,
			`uv.lock:22: package[1].wheels[0].hash: invalid hash "cd": want ALGORITHM:HEXDIGEST`},
		{"unknown hash algorithm", `hash = "sha256:ab"`, `hash = "crc32:ab"`,
			`uv.lock:20: package[1].sdist.hash: invalid hash "crc32:ab": unknown algorithm "crc32"`},
		{"bad upload time", `upload-time = "2024-12-04T17:35:28.174Z"`, `upload-time = "yesterday"`,
			`uv.lock:20: package[1].sdist.upload-time: invalid upload time "yesterday"`},
		{"missing source", `source = { registry = "https://pypi.org/simple" }`, ``,
			`uv.lock:16: package[1].source: missing required key`},
		{"two source kinds", `source = { editable = "." }`, `source = { editable = ".", virtual = "." }`,
			`uv.lock:8: package[0].source: a source has one kind, not editable and virtual`},
		{"unknown source kind", `source = { editable = "." }`, `source = { svn = "." }`,
			`uv.lock:8: package[0].source: a source needs one of registry, git,`},
		{"git source without commit", `source = { editable = "." }`, `source = { git = "https://example.org/demo?branch=main" }`,
			`uv.lock:8: package[0].source.git: parsing git source "https://example.org/demo?branch=main": want the full commit hash`},
		{"registry package without version", `version = "1.17.0"`, ``,
			`uv.lock:16: package[1].version: missing: required for a registry source`},
		{"invalid version", `version = "1.17.0"`, `version = "1.17.0-final-final"`,
			`uv.lock:18: package[1].version: parsing version "1.17.0-final-final": `},
		{"dangling dependency", `{ name = "six" },`, `{ name = "sx" },`,
			`uv.lock:10: package[0].dependencies[0]: dependency on "sx", which is not in the lock`},
		{"dependency on a missing version", `{ name = "six" },`, `{ name = "six", version = "1.16.0" },`,
			`uv.lock:10: package[0].dependencies[0]: dependency on six 1.16.0, which is not in the lock (it has 1.17.0)`},
		{"wheel without location", `{ url = "https://example.org/six-1.17.0-py2.py3-none-any.whl", hash = "sha256:cd", size = 11 },`, `{ hash = "sha256:cd" },`,
			`uv.lock:22: package[1].wheels[0]: missing url, path or filename`},
		{"override scoped to a package with no dependencies", "revision = 2\n", "revision = 2\n[manifest]\noverrides = [{ package = { name = \"six\" } }]\n",
			`uv.lock:4: manifest.overrides[0].dependencies: missing required key`},
		{"toml syntax", `revision = 2`, `revision = = 2`,
			`uv.lock:2: `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tomldoctest.Write(t, "uv.lock", tomldoctest.Edit(t, base, tt.old, tt.new))
			_, err := Load(path)
			tomldoctest.WantError(t, err, path, tt.want)
		})
	}
}

func TestDecodeAcceptsEveryLocalSourceKindAndDatetimeUploadTimes(t *testing.T) {
	doc := `version = 1

[[package]]
name = "a"
source = { directory = "libs/a" }

[[package]]
name = "b"
version = "1.0"
source = { path = "dist/b-1.0-py3-none-any.whl" }
wheels = [{ filename = "b-1.0-py3-none-any.whl", hash = "sha256:00", upload-time = 2024-01-02T03:04:05Z }]

[[package]]
name = "c"
version = "2.0"
source = { url = "https://example.org/c-2.0.tar.gz", subdirectory = "py" }
sdist = { hash = "sha256:11", path = "c-2.0.tar.gz" }

[[package]]
name = "ws"
version = "0.0.0"
source = { virtual = "." }
`
	l, err := Decode(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	kinds := []string{SourceDirectory, SourcePath, SourceURL, SourceVirtual}
	for i, k := range kinds {
		if l.Packages[i].Source.Kind != k {
			t.Errorf("package %d source = %v, want %s", i, l.Packages[i].Source, k)
		}
	}
	if w := l.Packages[1].Wheels[0]; w.Name() != "b-1.0-py3-none-any.whl" || w.UploadTime.Year() != 2024 {
		t.Errorf("wheel = %+v", w)
	}
	if l.Packages[2].Source.Subdirectory != "py" {
		t.Errorf("url source = %+v", l.Packages[2].Source)
	}
	if _, err := l.Packages[0].Source.Git(); err == nil {
		t.Error("Git() of a directory source succeeded")
	}
}

func TestDecodeErrorsNameLineWithoutFile(t *testing.T) {
	_, err := Decode(strings.NewReader(strings.Replace(base, `version = 1`, `version = 7`, 1)))
	if want := "line 1: version: unsupported uv.lock version 7"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %v, want %s...", err, want)
	}
}

func FuzzDecodeUVLock(f *testing.F) {
	real, err := os.ReadFile(fixture)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(real)
	f.Add([]byte(base))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Decode(strings.NewReader(string(data)))
		if err != nil {
			return
		}
		for _, p := range l.Packages {
			_, _ = p.Source.Git()
			for _, r := range p.Metadata.RequiresDist {
				_ = r.PEP508()
			}
		}
	})
}

func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(fixture); err != nil {
			b.Fatal(err)
		}
	}
}
