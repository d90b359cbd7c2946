package pylock

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/tomldoctest"
	"github.com/larder-build/larder/resolver/tomldoc"

	toml "github.com/pelletier/go-toml/v2"
)

const fixture = "../../testdata/pylock/pylock.toml"

func loadFixture(t testing.TB) *Lock {
	t.Helper()
	l, err := Load(fixture)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func findPackage(t *testing.T, l *Lock, name string) *Package {
	t.Helper()
	for i := range l.Packages {
		if l.Packages[i].Name == name {
			return &l.Packages[i]
		}
	}
	t.Fatalf("no package %q", name)
	return nil
}

func TestLoadReadsEveryPartOfARealisticLock(t *testing.T) {
	l := loadFixture(t)
	if l.LockVersion != "1.0" || l.CreatedBy != "larder" || l.RequiresPython != ">=3.11" {
		t.Errorf("header = %q %q %q", l.LockVersion, l.CreatedBy, l.RequiresPython)
	}
	if len(l.Environments) != 2 || !reflect.DeepEqual(l.DependencyGroups, []string{"test"}) {
		t.Errorf("environments %q, groups %q", l.Environments, l.DependencyGroups)
	}
	if len(l.Packages) != 7 {
		t.Fatalf("got %d packages, want 7", len(l.Packages))
	}

	django := findPackage(t, l, "django")
	if django.Version != "5.2.1" || django.Index != "https://pypi.org/simple" || len(django.Dependencies) != 2 {
		t.Errorf("django = %+v", django)
	}
	wantUpload := time.Date(2025, 5, 7, 15, 6, 23, 0, time.UTC)
	if s := django.Sdist; s == nil || !s.UploadTime.Equal(wantUpload) || s.Size != 10818735 ||
		s.Hashes["sha256"] != "57fe1f1b59462caed092c80b3dd324fd92161b620d59a9ba9181c34746c97284" {
		t.Errorf("django sdist = %+v", django.Sdist)
	}
	if lt := django.Tool.Larder; lt == nil || len(lt.Targets) != 2 || !reflect.DeepEqual(lt.Via, [][]string{{"django"}}) {
		t.Errorf("django larder tool = %+v", django.Tool.Larder)
	}

	psycopg := findPackage(t, l, "psycopg2-binary")
	if len(psycopg.Wheels) != 2 || psycopg.Marker != "sys_platform == 'linux'" {
		t.Errorf("psycopg2-binary = %+v", psycopg)
	}
	if got := findPackage(t, l, "asgiref").Wheels[0].FileName(); got != "asgiref-3.8.1-py3-none-any.whl" {
		t.Errorf("FileName from URL = %q", got)
	}

	xb := findPackage(t, l, "xblocks-core")
	if xb.VCS == nil || xb.VCS.Type != "git" || xb.VCS.RequestedRevision != "kdmccormick/xblocks-core" || len(xb.VCS.CommitID) != 40 {
		t.Errorf("xblocks-core vcs = %+v", xb.VCS)
	}
	if lt := xb.Tool.Larder; lt == nil || !lt.Private || lt.Build != "wheel" {
		t.Errorf("xblocks-core larder tool = %+v", xb.Tool.Larder)
	}
	if d := findPackage(t, l, "openedx-platform").Directory; d == nil || d.Path != "." || !d.Editable {
		t.Errorf("directory = %+v", d)
	}
	if a := findPackage(t, l, "pytest").AttestationIdentities; len(a) != 1 || a[0].Kind != "GitHub" || a[0].Other["repository"] != "pytest-dev/pytest" {
		t.Errorf("attestation identities = %+v", a)
	}
	other, _ := l.Tool.Other["other-tool"].(map[string]any)
	if other["answer"] != int64(42) || l.Tool.Larder == nil {
		t.Errorf("top-level tool = %+v", l.Tool)
	}
}

// A valid base document; each error case edits one line of it.
const base = `lock-version = "1.0"
created-by = "test"

[[packages]]
name = "django"
version = "5.2.1"
wheels = [
    { url = "https://example.org/django-5.2.1-py3-none-any.whl", hashes = { sha256 = "ab" } },
]

[[packages]]
name = "six"
version = "1.17.0"
sdist = { url = "https://example.org/six-1.17.0.tar.gz", size = 10, hashes = { sha256 = "cd" } }
`

func TestLoadErrorsNameFileLineAndKey(t *testing.T) {
	tests := []struct {
		name     string
		old, new string // replaced once in base
		want     string
	}{
		{"unknown lock-version major", `lock-version = "1.0"`, `lock-version = "2.0"`,
			`pylock.toml:1: lock-version: unsupported lock-version "2.0": this reader knows major version 1`},
		{"malformed lock-version", `lock-version = "1.0"`, `lock-version = "one"`,
			`pylock.toml:1: lock-version: invalid lock-version "one"`},
		{"missing lock-version", `lock-version = "1.0"`, ``,
			`pylock.toml: lock-version: missing required key`},
		{"missing created-by", `created-by = "test"`, ``,
			`pylock.toml: created-by: missing required key`},
		{"missing hash on a wheel", `, hashes = { sha256 = "ab" } }`, ` }`,
			`pylock.toml:8: packages[0].wheels[0].hashes: missing: every file needs at least one hash`},
		{"empty hashes on an sdist", `hashes = { sha256 = "cd" }`, `hashes = {}`,
			`pylock.toml:14: packages[1].sdist.hashes: missing: every file needs at least one hash`},
		{"digest not hex", `sha256 = "cd"`, `sha256 = "CD"`,
			`pylock.toml:14: packages[1].sdist.hashes.sha256: invalid digest "CD": want lowercase hex`},
		{"name not normalized", `name = "six"`, `name = "Six"`,
			`pylock.toml:12: packages[1].name: name "Six" is not normalized: want "six"`},
		{"name invalid", `name = "six"`, `name = "six!"`,
			`pylock.toml:12: packages[1].name: invalid project name "six!"`},
		{"missing name", `name = "six"`, ``,
			`pylock.toml:11: packages[1].name: missing required key`},
		{"missing version with files", `version = "1.17.0"`, ``,
			`pylock.toml:11: packages[1].version: missing: required when sdist or wheels are given`},
		{"two kinds of source", `name = "six"`, `name = "six"` + "\n" + `directory = { path = "six" }`,
			`pylock.toml:11: packages[1]: package "six" has 2 kinds of source (directory, sdist/wheels): want exactly one`},
		{"no source", `sdist = { url = "https://example.org/six-1.17.0.tar.gz", size = 10, hashes = { sha256 = "cd" } }`, ``,
			`pylock.toml:11: packages[1]: package "six" has no source`},
		{"file without url or path", `url = "https://example.org/six-1.17.0.tar.gz", `, ``,
			`pylock.toml:14: packages[1].sdist: missing url or path`},
		{"size of the wrong type", `size = 10`, `size = "10"`,
			`pylock.toml:14: packages[1].sdist.size: expected an integer, got string "10"`},
		{"upload-time as a string", `size = 10`, `upload-time = "2025-01-01T00:00:00Z"`,
			`pylock.toml:14: packages[1].sdist.upload-time: expected a datetime, got string "2025-01-01T00:00:00Z"`},
		{"environments not an array", `created-by = "test"`, `created-by = "test"` + "\n" + `environments = "linux"`,
			`pylock.toml:3: environments: expected an array of strings, got string "linux"`},
		{"vcs without commit", `name = "six"`, `name = "six"` + "\n" + `vcs = { type = "git", url = "https://example.org/six" }`,
			`pylock.toml:13: packages[1].vcs.commit-id: missing required key`},
		{"bad marker", `name = "six"`, `name = "six"` + "\n" + `marker = "python_version >= "`,
			`pylock.toml:13: packages[1].marker: parsing "python_version >= ": `},
		{"bad environment", `created-by = "test"`, `created-by = "test"` + "\n" + `environments = ["os_name == 'posix'", "os_name = 'nt'"]`,
			`pylock.toml:3: environments[1]: parsing "os_name = 'nt'": `},
		{"invalid version", `version = "1.17.0"`, `version = "one.two"`,
			`pylock.toml:13: packages[1].version: parsing version "one.two": `},
		{"invalid requires-python", `created-by = "test"`, `created-by = "test"` + "\n" + `requires-python = "3.11"`,
			`pylock.toml:3: requires-python: parsing specifier "3.11": `},
		{"syntax error", `created-by = "test"`, `created-by = "test`,
			`pylock.toml:2: basic strings cannot have new lines`},
		{"duplicate key", `version = "1.17.0"`, `version = "1.17.0"` + "\n" + `version = "1.17.1"`,
			`pylock.toml:14: packages[1].version: key version is already defined`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tomldoctest.Write(t, "pylock.toml", tomldoctest.Edit(t, base, tt.old, tt.new))
			_, err := Load(path)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			tomldoctest.WantError(t, err, path, tt.want)
		})
	}
}

func TestMarkersMayUseTheVariablesPEP751Adds(t *testing.T) {
	tests := []struct {
		marker string
		ok     bool
	}{
		{`'test' in dependency_groups`, true},
		{`"socks" in extras and python_version >= "3.11"`, true},
		{`'test' not in dependency_groups or sys_platform == 'linux'`, true},
		{`'extras' == os_name`, true}, // inside quotes nothing is replaced
		{`'test' in dependency_groupz`, false},
		{`'test' in dependency_groups and`, false},
	}
	for _, tt := range tests {
		doc := strings.Replace(base, `name = "six"`, `name = "six"`+"\nmarker = "+tomldoc.Quote(tt.marker), 1)
		_, err := Decode(strings.NewReader(doc))
		if (err == nil) != tt.ok {
			t.Errorf("marker %q: error = %v, want ok=%v", tt.marker, err, tt.ok)
		}
	}
}

func TestDecodeErrorsNameLineWithoutFile(t *testing.T) {
	doc := strings.Replace(base, `lock-version = "1.0"`, `lock-version = "3.1"`, 1)
	_, err := Decode(strings.NewReader(doc))
	want := `line 1: lock-version: unsupported lock-version "3.1"`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Decode error = %v, want %s...", err, want)
	}
}

func TestLoadReportsSeveralProblemsAtOnce(t *testing.T) {
	doc := strings.NewReplacer(`name = "six"`, `name = "Six"`, `, hashes = { sha256 = "ab" } }`, ` }`).Replace(base)
	_, err := Decode(strings.NewReader(doc))
	if err == nil || !strings.Contains(err.Error(), "packages[0].wheels[0].hashes") || !strings.Contains(err.Error(), "packages[1].name") {
		t.Errorf("error = %v, want both problems", err)
	}
}

func encode(t testing.TB, l *Lock) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := l.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestEncodeDecodeRoundTripKeepsEveryValue(t *testing.T) {
	l := loadFixture(t)
	first := encode(t, l)
	back, err := Decode(bytes.NewReader(first))
	if err != nil {
		t.Fatalf("decoding encoded lock: %v\n%s", err, first)
	}
	if second := encode(t, back); !bytes.Equal(first, second) {
		t.Errorf("encode(decode(encode(l))) differs from encode(l):\n%s\n---\n%s", first, second)
	}

	// The re-encoded document says the same as the hand-written one, up to
	// the order of unordered things and the defaults PEP 751 lets a writer
	// leave out (empty arrays, editable = false).
	orig, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := canonical(t, orig), canonical(t, first); !reflect.DeepEqual(a, b) {
		t.Errorf("structure changed:\n orig %v\n  enc %v", a, b)
	}
}

// canonical decodes doc generically and puts it in a comparable form.
func canonical(t testing.TB, doc []byte) any {
	t.Helper()
	var m map[string]any
	if err := toml.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	return canon(m, "")
}

func canon(v any, key string) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if arr, ok := tomldoc.AsArray(e); ok && len(arr) == 0 {
				continue
			}
			if b, ok := e.(bool); ok && !b && k == "editable" {
				continue
			}
			out[k] = canon(e, k)
		}
		return out
	case []map[string]any, []any:
		arr, _ := tomldoc.AsArray(x)
		out := make([]any, len(arr))
		for i, e := range arr {
			out[i] = canon(e, "")
		}
		if key == "packages" || key == "wheels" || key == "dependencies" {
			sort.Slice(out, func(i, j int) bool { return sortKey(out[i]) < sortKey(out[j]) })
		}
		return out
	case time.Time:
		return "datetime " + x.UTC().Format(time.RFC3339Nano)
	}
	return v
}

func sortKey(v any) string {
	m, _ := v.(map[string]any)
	var parts []string
	for _, k := range []string{"name", "version", "url"} {
		s, _ := m[k].(string)
		parts = append(parts, s)
	}
	return strings.Join(parts, "\x00")
}

func TestEncodeIsByteStableAndIndependentOfInputOrder(t *testing.T) {
	l := loadFixture(t)
	want := encode(t, l)
	if again := encode(t, l); !bytes.Equal(want, again) {
		t.Fatal("two encodings of the same lock differ")
	}
	// Reverse every unordered list: the output must not move.
	shuffled := *l
	shuffled.Packages = append([]Package(nil), l.Packages...)
	for i, j := 0, len(shuffled.Packages)-1; i < j; i, j = i+1, j-1 {
		shuffled.Packages[i], shuffled.Packages[j] = shuffled.Packages[j], shuffled.Packages[i]
	}
	for i := range shuffled.Packages {
		p := &shuffled.Packages[i]
		p.Wheels = append([]File(nil), p.Wheels...)
		sort.Slice(p.Wheels, func(a, b int) bool { return p.Wheels[a].FileName() > p.Wheels[b].FileName() })
		p.Dependencies = append([]Dependency(nil), p.Dependencies...)
		sort.Slice(p.Dependencies, func(a, b int) bool { return p.Dependencies[a].Name > p.Dependencies[b].Name })
	}
	if got := encode(t, &shuffled); !bytes.Equal(want, got) {
		t.Errorf("encoding depends on input order:\n%s\n---\n%s", want, got)
	}
	if l.Packages[0].Name != "django" {
		t.Errorf("Encode reordered the caller's lock: first package is %q", l.Packages[0].Name)
	}
}

func TestEncodeSortsPackagesByNameThenVersionNumerically(t *testing.T) {
	wheel := func(name string) []File {
		return []File{{URL: "https://example.org/" + name, Hashes: Hashes{"sha256": "00"}}}
	}
	l := &Lock{LockVersion: "1.0", CreatedBy: "test", Packages: []Package{
		{Name: "numpy", Version: "1.10.0", Wheels: wheel("numpy-1.10.0-py3-none-any.whl")},
		{Name: "attrs", Version: "25.1.0", Wheels: wheel("attrs-25.1.0-py3-none-any.whl")},
		{Name: "numpy", Version: "1.9.3", Wheels: wheel("numpy-1.9.3-py3-none-any.whl")},
	}}
	back, err := Decode(bytes.NewReader(encode(t, l)))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range back.Packages {
		got = append(got, p.Name+"=="+p.Version)
	}
	want := []string{"attrs==25.1.0", "numpy==1.9.3", "numpy==1.10.0"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order = %q, want %q", got, want)
	}
}

func TestEncodeWritesHashesInlineAndUploadTimeAsDatetime(t *testing.T) {
	out := string(encode(t, loadFixture(t)))
	for _, want := range []string{
		`hashes = { sha256 = "57fe1f1b59462caed092c80b3dd324fd92161b620d59a9ba9181c34746c97284" }`,
		`upload-time = 2025-05-07T15:06:23Z,`,
		"wheels = [\n    { name = \"django-5.2.1-py3-none-any.whl\"",
		"\n[packages.tool.larder]\ntargets = [",
		`vcs = { type = "git", url = "https://github.com/openedx/xblocks-core", requested-revision = "kdmccormick/xblocks-core", commit-id = `,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestEncodeRefusesAnInvalidLock(t *testing.T) {
	tests := []struct {
		name string
		lock Lock
		want string
	}{
		{"missing hash", Lock{LockVersion: "1.0", CreatedBy: "t", Packages: []Package{
			{Name: "six", Version: "1", Wheels: []File{{URL: "https://example.org/six-1-py3-none-any.whl"}}}}},
			"packages[0].wheels[0].hashes: missing"},
		{"future major", Lock{LockVersion: "2.0", CreatedBy: "t"}, `lock-version: unsupported lock-version "2.0"`},
		{"invalid UTF-8", Lock{LockVersion: "1.0", CreatedBy: "t\xff"}, "not valid UTF-8"},
		{"unsupported tool value", Lock{LockVersion: "1.0", CreatedBy: "t", Tool: Tool{Other: map[string]any{"x": struct{}{}}}},
			"cannot encode a value of type struct {}"},
		{"larder twice", Lock{LockVersion: "1.0", CreatedBy: "t", Tool: Tool{Larder: &LarderTool{}, Other: map[string]any{"larder": 1}}},
			`both Larder and Other["larder"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.lock.Encode(&bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Encode error = %v, want %q", err, tt.want)
			}
		})
	}
}

const toolDoc = `lock-version = "1.0"
created-by = "test"

[[packages]]
name = "six"
directory = { path = "six" }

[packages.tool]
flag = true

[packages.tool.larder]
targets = ["linux/amd64:3.11"]
future-key = { nested = [1.5, -0.0, 1e300, inf, nan] }

[packages.tool."weird.tool"]
"key with spaces" = "tab\there \"quoted\" \u00e9 \u0001"
when = 2024-02-29T23:59:59.123456+05:30
local = 2024-02-29T23:59:59
day = 2024-02-29
clock = 23:59:59.5
empty = {}
matrix = [[1, 2], ["a"], [], [{ x = 1 }]]

[tool.poetry]
version = 2

[tool.poetry.deep.deeper]
big = 9223372036854775807
small = -9223372036854775808
`

func TestToolTablesRoundTripUnchanged(t *testing.T) {
	l, err := Decode(strings.NewReader(toolDoc))
	if err != nil {
		t.Fatal(err)
	}
	if lt := l.Packages[0].Tool.Larder; lt == nil || lt.Other["future-key"] == nil {
		t.Fatalf("larder tool kept no unknown key: %+v", lt)
	}
	out := encode(t, l)
	if a, b := canonicalTool(t, []byte(toolDoc)), canonicalTool(t, out); !reflect.DeepEqual(a, b) {
		t.Errorf("tool tables changed:\n orig %#v\n  enc %#v\n%s", a, b, out)
	}
}

// canonicalTool extracts every tool table, with NaN replaced by a string so
// that DeepEqual can compare it.
func canonicalTool(t *testing.T, doc []byte) any {
	var m map[string]any
	if err := toml.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	pkgs, _ := tomldoc.AsArray(m["packages"])
	return nanFree(canon([]any{m["tool"], pkgs[0].(map[string]any)["tool"]}, ""))
}

func nanFree(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = nanFree(e)
		}
	case []any:
		for i, e := range x {
			x[i] = nanFree(e)
		}
	case float64:
		if x != x {
			return "NaN"
		}
	}
	return v
}

func TestWriteFileReplacesAtomicallyAndLeavesNoTemporaryFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pylock.toml")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	l := loadFixture(t)
	if err := WriteFile(path, l); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, encode(t, l)) {
		t.Error("file content differs from Encode")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, want 0644", fi.Mode().Perm())
	}

	// A lock that cannot be encoded leaves the old file in place.
	if err := WriteFile(path, &Lock{LockVersion: "9.0"}); err == nil {
		t.Error("WriteFile of an invalid lock succeeded")
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, got) {
		t.Error("failed WriteFile changed the file")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries, want only pylock.toml", len(entries))
	}
}

func TestValidateAcceptsAMinimalLock(t *testing.T) {
	l := &Lock{LockVersion: "1.3", CreatedBy: "larder"}
	if err := l.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	back, err := Decode(bytes.NewReader(encode(t, l)))
	if err != nil || back.LockVersion != "1.3" || len(back.Packages) != 0 {
		t.Errorf("Decode = %+v, %v", back, err)
	}
}

// TestWriteFileTakesANameOfFullLength: a lock named with all 255 bytes a
// file name may have (PEP 751's pylock.<name>.toml) is written; its
// temporary file, which must fit beside it, takes a shorter name.
func TestWriteFileTakesANameOfFullLength(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pylock."+strings.Repeat("n", 255-len("pylock..toml"))+".toml")
	if err := WriteFile(path, loadFixture(t)); err != nil {
		t.Fatalf("writing a lock with a 255-byte name: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != filepath.Base(path) {
		t.Errorf("folder holds %v, want only the lock", entries)
	}
}
