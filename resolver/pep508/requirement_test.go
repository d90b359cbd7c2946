package pep508

import (
	"slices"
	"testing"
)

func TestParseRequirementReadsEveryPart(t *testing.T) {
	tests := []struct {
		in     string
		name   string
		extras []string
		specs  string
		url    string
		marker string
		str    string
	}{
		{in: "requests", name: "requests", str: "requests"},
		{in: "  requests  ", name: "requests", str: "requests"},
		{in: "Foo.Bar_baz", name: "Foo.Bar_baz", str: "Foo.Bar_baz"},
		{in: "requests>=2.8.1", name: "requests", specs: ">=2.8.1", str: "requests>=2.8.1"},
		{in: "requests >= 2.8.1 , < 3", name: "requests", specs: "<3,>=2.8.1", str: "requests<3,>=2.8.1"},
		{in: "requests (>=2.8.1, <3)", name: "requests", specs: "<3,>=2.8.1", str: "requests<3,>=2.8.1"},
		{in: "requests(>=2.8.1)", name: "requests", specs: ">=2.8.1", str: "requests>=2.8.1"},
		{in: "requests[]", name: "requests", str: "requests"},
		{in: "requests [ Socks , security,socks ] ~=2.8", name: "requests", extras: []string{"security", "socks"}, specs: "~=2.8", str: "requests[security,socks]~=2.8"},
		{in: "requests[Dev_Tools]", name: "requests", extras: []string{"dev-tools"}, str: "requests[dev-tools]"},
		{in: `requests [security] >= 2.8.1, == 2.8.* ; python_version < "2.7"`, name: "requests", extras: []string{"security"}, specs: "==2.8.*,>=2.8.1",
			marker: `python_version < "2.7"`, str: `requests[security]==2.8.*,>=2.8.1; python_version < "2.7"`},
		{in: `colorama;sys_platform=="win32"`, name: "colorama", marker: `sys_platform == "win32"`, str: `colorama; sys_platform == "win32"`},
		{in: "name@http://foo.com", name: "name", url: "http://foo.com", str: "name @ http://foo.com"},
		{in: "name [fred,bar] @ http://foo.com ; python_version=='2.7'", name: "name", extras: []string{"bar", "fred"}, url: "http://foo.com",
			marker: `python_version == "2.7"`, str: `name[bar,fred] @ http://foo.com ; python_version == "2.7"`},
		{in: "name @ git+https://github.com/o/r.git@v1.0#egg=name", name: "name", url: "git+https://github.com/o/r.git@v1.0#egg=name", str: "name @ git+https://github.com/o/r.git@v1.0#egg=name"},
		{in: "name @ file:///tmp/name-1.0-py3-none-any.whl", name: "name", url: "file:///tmp/name-1.0-py3-none-any.whl", str: "name @ file:///tmp/name-1.0-py3-none-any.whl"},
		{in: "name @ http://[::1]:3141/x.whl\t;\tos_name == 'posix'", name: "name", url: "http://[::1]:3141/x.whl", marker: `os_name == "posix"`, str: `name @ http://[::1]:3141/x.whl ; os_name == "posix"`},
		{in: "name===1.0-foo_bar", name: "name", specs: "===1.0-foo_bar", str: "name===1.0-foo_bar"},
		{in: "name==1.0+local.7", name: "name", specs: "==1.0+local.7", str: "name==1.0+local.7"},
		{in: "name[quux, strange];python_version<'2.7' and platform_version=='2'", name: "name", extras: []string{"quux", "strange"},
			marker: `python_version < "2.7" and platform_version == "2"`, str: `name[quux,strange]; python_version < "2.7" and platform_version == "2"`},
	}
	for _, tt := range tests {
		r, err := ParseRequirement(tt.in)
		if err != nil {
			t.Errorf("ParseRequirement(%q): %v", tt.in, err)
			continue
		}
		if r.Name != tt.name || !slices.Equal(r.Extras, tt.extras) || r.Specifiers.String() != tt.specs || r.URL != tt.url || r.Marker.String() != tt.marker {
			t.Errorf("ParseRequirement(%q) = name %q extras %q specs %q url %q marker %q\nwant name %q extras %q specs %q url %q marker %q",
				tt.in, r.Name, r.Extras, r.Specifiers, r.URL, r.Marker, tt.name, tt.extras, tt.specs, tt.url, tt.marker)
		}
		if got := r.String(); got != tt.str {
			t.Errorf("ParseRequirement(%q).String() = %q, want %q", tt.in, got, tt.str)
		}
	}
}

func TestParseRequirementRejectsMalformedInputWithColumn(t *testing.T) {
	wantSyntaxErrors(t, "ParseRequirement", func(s string) error { _, err := ParseRequirement(s); return err }, []syntaxCase{
		{"foo >= 1.0 ;", `expected marker after ";"`, 12},
		{"", "expected package name", 1},
		{"-foo", "expected package name", 1},
		{"foo-", `expected version specifier, "@ URL", ";" or end`, 4},
		{"foo bar", `expected version specifier, "@ URL", ";" or end`, 5},
		{"foo >=", `expected version after ">="`, 7},
		{"foo >= abc", `invalid version specifier ">=abc"`, 5},
		{"foo >= 1.0.*", `invalid version specifier ">=1.0.*"`, 5},
		{"foo ~= 1", `invalid version specifier "~=1"`, 5},
		{"foo >= 1.0+local", `invalid version specifier ">=1.0+local"`, 5},
		{"foo >=1.0 <2", `expected version specifier, "@ URL", ";" or end`, 11},
		{"foo >=1.0,", "expected version operator", 11},
		{"foo = 1.0", "expected version operator", 5},
		{"foo (>=1.0", `expected "," or ")" to close "(" at column 5`, 11},
		{"foo ()", "expected version operator", 6},
		{"foo[bar", `expected "," or "]" to close "[" at column 4`, 8},
		{"foo[bar,]", "expected extra name", 9},
		{"foo[-bar]", "expected extra name", 5},
		{"foo @", `expected URL after "@"`, 5},
		{"foo @ ./local", `invalid URL "./local"`, 7},
		{"foo @ https:/x", `invalid URL "https:/x"`, 7},
		{"foo @ file:/tmp/x", `invalid file URL "file:/tmp/x"`, 7},
		{"foo @ http://[1.2.3.4]/x", `invalid URL`, 7},
		{"foo @ http://x\x01", "control character", 15},
		{"foo @ http://x >=1", `expected ";" or end after URL`, 16},
		{`foo >= 1.0; os_name == "a" garbage`, `expected "and", "or" or end of marker`, 28},
		{`foo; os_name = "a"`, "expected comparison operator", 14},
		{"foo\n>=1.0", `expected version specifier, "@ URL", ";" or end`, 4},
	})
	_, err := ParseRequirement("foo >= 1.0 ;")
	if want := `parsing "foo >= 1.0 ;": expected marker after ";" at column 12`; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestURLWithoutSpaceSwallowsSemicolon(t *testing.T) {
	// "a marker after a URL needs whitespace before ;": without it the ";"
	// and what follows are part of the URL, as in packaging.
	r, err := ParseRequirement(`name @ http://x/y.whl;os_name=="a"`)
	if err != nil {
		t.Fatal(err)
	}
	if r.URL != `http://x/y.whl;os_name=="a"` || r.Marker != nil {
		t.Errorf("got url %q marker %v", r.URL, r.Marker)
	}
}

func TestValidURLFollowsPythonURLSplit(t *testing.T) {
	tests := []struct {
		url  string
		want bool
	}{
		{"https://example.com/x.whl", true},
		{"git+ssh://git@github.com/o/r.git", true},
		{"HTTPS://EXAMPLE.COM/x", true},
		{"http://[::1]:8080/x", true},
		{"http://[fe80::1%25eth0]/x", true},
		{"http://[v1.fe]/x", true},
		{"http://[1.2.3.4]/x", false},
		{"http://[::1/x", false},
		{"http://", false},
		{"https:/x", false},
		{"//host/x", false},
		{"./x", false},
		{"c:/x", false},
		{"1http://x/y", false},
		{"file:///x", true},
		{"file://localhost/x", true},
		{"file:/x", false},
		{"file:x", false},
		{"FILE:///x", false},
		{"file:///x?", false},
		{"file:///x#", false},
		{"file:///x?a=1#f", true},
		{"file:////x", false},
		{"file://", true},
		{"file:", false},
	}
	for _, tt := range tests {
		if got := validURL(tt.url); got != tt.want {
			t.Errorf("validURL(%q) = %v, want %v", tt.url, got, tt.want)
		}
	}
}

func TestNormalizedNameIsTheNameNormalizedPerPEP503(t *testing.T) {
	// The PEP 503 cases are resolver/dist's (TestNormalizeNameCollapses...):
	// this checks that a requirement's name goes through that function.
	r := Requirement{Name: "Foo__Bar..baz"}
	if got := r.NormalizedName(); got != "foo-bar-baz" {
		t.Errorf("NormalizedName(%q) = %q, want %q", r.Name, got, "foo-bar-baz")
	}
}

func TestRequirementStringParsesBackToTheSameRequirement(t *testing.T) {
	for _, s := range append(realRequirements(t), edxRequirements(t)...) {
		r, err := ParseRequirement(s)
		if err != nil {
			continue // bare URL lines of pip, checked elsewhere
		}
		again, err := ParseRequirement(r.String())
		if err != nil {
			t.Errorf("ParseRequirement(%q).String() = %q does not parse: %v", s, r, err)
			continue
		}
		if !sameRequirement(r, again) {
			t.Errorf("%q: String() %q parses back as %q", s, r, again)
		}
	}
}

func sameRequirement(a, b Requirement) bool {
	return a.Name == b.Name && slices.Equal(a.Extras, b.Extras) && a.Specifiers.String() == b.Specifiers.String() &&
		a.URL == b.URL && sameMarker(a.Marker, b.Marker)
}

// sameMarker compares trees, parentheses included.
func sameMarker(a, b *Marker) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.kind != b.kind || a.grouped != b.grouped || len(a.items) != len(b.items) {
		return false
	}
	if a.kind == leafNode {
		return a.cmp.lhs == b.cmp.lhs && a.cmp.op == b.cmp.op && a.cmp.rhs == b.cmp.rhs &&
			a.cmp.hasSpec == b.cmp.hasSpec && a.cmp.spec.String() == b.cmp.spec.String()
	}
	for i := range a.items {
		if !sameMarker(a.items[i], b.items[i]) {
			return false
		}
	}
	return true
}
