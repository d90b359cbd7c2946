package pep508

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/parsetest"
	"github.com/larder-build/larder/resolver/target"
)

func linuxEnv(t testing.TB, spec string) Environment {
	t.Helper()
	return EnvironmentFor(parsetest.Must(t, target.Parse, spec))
}

func TestParseMarkerWritesCanonicalForm(t *testing.T) {
	tests := []struct{ in, want string }{
		{`python_version>="3.8"`, `python_version >= "3.8"`},
		{`python_version >= '3.8'`, `python_version >= "3.8"`},
		{"\tos_name  ==\t'posix'  ", `os_name == "posix"`},
		{`"3.8" <= python_version`, `"3.8" <= python_version`},
		{`os.name == "posix"`, `os_name == "posix"`},
		{`sys.platform == "linux"`, `sys_platform == "linux"`},
		{`platform.version == "1"`, `platform_version == "1"`},
		{`platform.machine == "x86_64"`, `platform_machine == "x86_64"`},
		{`platform.python_implementation == "CPython"`, `platform_python_implementation == "CPython"`},
		{`python_implementation == "CPython"`, `platform_python_implementation == "CPython"`},
		{`os_name not  in "posix"`, `os_name not in "posix"`},
		{`os_name not	in "posix"`, `os_name not in "posix"`},
		{`os_namein"posix"`, `os_name in "posix"`},
		{`os_name=="a"and os_name=="b"or os_name=="c"`, `os_name == "a" and os_name == "b" or os_name == "c"`},
		{`(os_name == "a")`, `os_name == "a"`},
		{`(os_name == "a" or os_name == "b")`, `os_name == "a" or os_name == "b"`},
		{`os_name == "a" and (os_name == "b" or os_name == "c")`, `os_name == "a" and (os_name == "b" or os_name == "c")`},
		{`(os_name == "a" and os_name == "b") or os_name == "c"`, `(os_name == "a" and os_name == "b") or os_name == "c"`},
		{`os_name == "a" and ((os_name == "b" or os_name == "c"))`, `os_name == "a" and (os_name == "b" or os_name == "c")`},
		{`os_name == 'a"b'`, `os_name == 'a"b'`},
		{`os_name == ""`, `os_name == ""`},
		{`extra == "Dev_Tools"`, `extra == "Dev_Tools"`},
		{`python_version === "3.11"`, `python_version === "3.11"`},
		{`os_name == sys_platform`, `os_name == sys_platform`},
	}
	for _, tt := range tests {
		m, err := ParseMarker(tt.in)
		if err != nil {
			t.Errorf("ParseMarker(%q): %v", tt.in, err)
			continue
		}
		if got := m.String(); got != tt.want {
			t.Errorf("ParseMarker(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseMarkerRejectsMalformedMarkersWithColumn(t *testing.T) {
	wantSyntaxErrors(t, "ParseMarker", func(s string) error { _, err := ParseMarker(s); return err }, []syntaxCase{
		{``, "expected marker variable or quoted string", 1},
		{`python_version`, "expected comparison operator", 15},
		{`python_version >=`, "expected marker variable or quoted string", 18},
		{`python_version = "3"`, "expected comparison operator", 16},
		{`python_versions >= "3"`, `unknown marker variable "python_versions"`, 1},
		{`pyton_version >= "3"`, `unknown marker variable "pyton_version"`, 1},
		{`os_name == "posix`, "unterminated string", 12},
		{`os_name == 'posix"`, "unterminated string", 12},
		{"os_name == \"pos\nix\"", "line break", 12},
		{`os_name == "posix" or`, "expected marker variable", 22},
		{`os_name == "posix" xor os_name == "nt"`, `expected "and", "or" or end of marker`, 20},
		{`(os_name == "posix"`, `expected ")" to close "(" at column 1`, 20},
		{`os_name == "posix")`, `expected "and", "or" or end of marker`, 19},
		{`os_name not "posix"`, `expected "not in"`, 9},
		{`()`, "expected marker variable", 2},
		{"os_name\n== 'posix'", "expected comparison operator", 8},
		{strings.Repeat("(", 200) + `os_name == "a"` + strings.Repeat(")", 200), "nested more than 100", 101},
	})
}

// syntaxCase is an input a parser refuses, with the message and the
// 1-based column its *SyntaxError wants.
type syntaxCase struct {
	in   string
	want string
	col  int
}

// wantSyntaxErrors parses each input with parse (named fn in messages) and
// checks that it fails with a *SyntaxError that quotes the input and holds
// the message at the column.
func wantSyntaxErrors(t *testing.T, fn string, parse func(string) error, tests []syntaxCase) {
	t.Helper()
	for _, tt := range tests {
		err := parse(tt.in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%s(%q) error = %v, want a *SyntaxError", fn, tt.in, err)
			continue
		}
		if !strings.Contains(se.Msg, tt.want) || se.Column != tt.col || se.Input != tt.in {
			t.Errorf("%s(%q) error = %v, want %q at column %d", fn, tt.in, err, tt.want, tt.col)
		}
		if !strings.Contains(err.Error(), `parsing "`) {
			t.Errorf("%s(%q) error %q does not quote the input", fn, tt.in, err)
		}
	}
}

// markerCase is a marker and whether it holds in the test's environment.
type markerCase struct {
	marker string
	want   bool
}

// wantEvaluates checks that each marker evaluates as it wants in env.
func wantEvaluates(t *testing.T, env Environment, tests []markerCase) {
	t.Helper()
	for _, tt := range tests {
		if got := mustMarker(t, tt.marker).Evaluate(env); got != tt.want {
			t.Errorf("%s = %v, want %v", tt.marker, got, tt.want)
		}
	}
}

func mustMarker(t testing.TB, s string) *Marker {
	t.Helper()
	return parsetest.Must(t, ParseMarker, s)
}

func TestMarkerAndBindsTighterThanOr(t *testing.T) {
	env := Environment{OSName: "c"}
	wantEvaluates(t, env, []markerCase{
		// PEP 508's own examples: (a and b) or c, a and (b or c), ...
		{`os_name=='a' and os_name=='b' or os_name=='c'`, true},
		{`os_name=='a' and (os_name=='b' or os_name=='c')`, false},
		{`os_name=='c' or os_name=='b' and os_name=='a'`, true},
		{`(os_name=='c' or os_name=='b') and os_name=='a'`, false},
		{`os_name=='c' and os_name=='c' and os_name=='x' or os_name=='c'`, true},
	})
}

func TestMarkerEvaluatesRealMarkersForATarget(t *testing.T) {
	py311 := linuxEnv(t, "linux/amd64:3.11.7")
	arm38 := linuxEnv(t, "linux/arm64:3.8")
	tests := []struct {
		marker     string
		py311, arm bool
	}{
		{`sys_platform == "win32"`, false, false},
		{`sys_platform == "linux"`, true, true},
		{`platform_python_implementation != "PyPy"`, true, true},
		{`python_version < "3.11"`, false, true},
		{`python_version >= "3.8"`, true, true},
		{`python_version > "3.9"`, true, false}, // 3.11 > 3.9 as versions, not as strings
		{`python_version == "3.11.*"`, true, false},
		{`python_version ~= "3.8"`, true, true},
		{`python_full_version >= "3.11.3"`, true, false},
		{`python_full_version == "3.8.0"`, false, true}, // unknown patch counts as 0
		{`implementation_name == "cpython" and python_version >= "3.8"`, true, true},
		{`platform_machine == "aarch64"`, false, true},
		{`platform_machine in "x86_64 AMD64"`, true, false},
		{`"arm" not in platform_machine`, true, true},
		{`os_name == "nt" or platform_system == "Linux"`, true, true},
		{`platform_release >= "5"`, false, false}, // "" >= "5" as strings
		{`extra == "socks"`, false, false},
		{`implementation_version >= "3.11"`, true, false},
		{`python_version in "3.10 3.11"`, true, false},
		{`python_version === "3.11"`, true, false},
	}
	for _, tt := range tests {
		m := mustMarker(t, tt.marker)
		if got := m.Evaluate(py311); got != tt.py311 {
			t.Errorf("%s on 3.11/amd64 = %v, want %v", tt.marker, got, tt.py311)
		}
		if got := m.Evaluate(arm38); got != tt.arm {
			t.Errorf("%s on 3.8/arm64 = %v, want %v", tt.marker, got, tt.arm)
		}
	}
}

func TestMarkerComparesStringsWhenEitherSideIsNoVersion(t *testing.T) {
	env := Environment{PythonVersion: "3.11", OSName: "posix", PlatformRelease: "5.15.0-91-generic"}
	wantEvaluates(t, env, []markerCase{
		{`python_version < "3.1O"`, true},        // rhs invalid: "3.11" < "3.1O"
		{`python_version < "3.8.*"`, true},       // wildcards only suit == and !=: "3.11" < "3.8.*"
		{`os_name >= "3"`, true},                 // lhs invalid: "posix" >= "3"
		{`os_name != "3.8"`, true},               // lhs invalid
		{`platform_release >= "5.15"`, true},     // "5.15.0-91-generic" is no version
		{`platform_release < "6"`, true},         // "5..." < "6"
		{`os_name ~= "posix"`, false},            // no ~= on strings: an error in the standard
		{`"posix" ~= os_name`, false},            // likewise
		{`os_name === "POSIX"`, true},            // arbitrary equality ignores case
		{`python_version === " 3.11 "`, true},    // and surrounding whitespace
		{`python_version === "3.11.0"`, false},   // but is no version comparison
		{`python_version == "3.11.0"`, true},     // which == is
		{`"3.8" < python_version`, true},         // variable on the right
		{`"posix" == "os_name"`, true},           // a right-hand literal names the variable, as in packaging
		{`"posix" == "no_such_variable"`, false}, // packaging raises
		{`os_name == sys_platform`, false},       // compared with the name "sys_platform"
	})
}

func TestMarkerInTestsSubstrings(t *testing.T) {
	env := Environment{SysPlatform: "linux", PlatformMachine: "x86_64"}
	wantEvaluates(t, env, []markerCase{
		{`sys_platform in "linux darwin"`, true},
		{`sys_platform in "lin"`, false},
		{`"lin" in sys_platform`, true},
		{`sys_platform not in "win32 cygwin"`, true},
		{`platform_machine in "x86_64"`, true},
		{`platform_machine in ""`, false},
		{`"" in platform_machine`, true},
	})
}

func TestMarkerComparesExtrasNormalized(t *testing.T) {
	env := linuxEnv(t, "linux/amd64:3.11")
	tests := []struct {
		marker, extra string
		want          bool
	}{
		{`extra == "socks"`, "socks", true},
		{`extra == "Dev_Tools"`, "dev-tools", true},
		{`extra == "dev-tools"`, "DEV.tools", true},
		{`"dev__tools" == extra`, "Dev-Tools", true},
		{`extra != "socks"`, "SOCKS", false},
		{`extra == "socks"`, "", false},
		{`extra == ""`, "", true},
	}
	for _, tt := range tests {
		m := mustMarker(t, tt.marker)
		if got := m.Evaluate(env.WithExtra(tt.extra)); got != tt.want {
			t.Errorf("%s with extra %q = %v, want %v", tt.marker, tt.extra, got, tt.want)
		}
	}
}

func TestMarkerWithoutExtraSeesEmptyExtra(t *testing.T) {
	env := linuxEnv(t, "linux/amd64:3.11")
	for marker, want := range map[string]bool{
		`extra == "socks"`:  false,
		`extra != "socks"`:  true,
		`extra == ""`:       true,
		`"" == extra`:       true,
		`extra in "a b"`:    true, // "" is a substring of anything
		`extra not in "ab"`: false,
	} {
		m := mustMarker(t, marker)
		if got := m.Evaluate(env); got != want {
			t.Errorf("%s without extra = %v, want %v", marker, got, want)
		}
		if got := m.Evaluate(Environment{}); got != want {
			t.Errorf("%s in an empty environment = %v, want %v", marker, got, want)
		}
	}
}

func TestMarkerExtrasListsNormalizedNames(t *testing.T) {
	tests := []struct {
		marker string
		want   []string
	}{
		{`python_version < "3.11"`, nil},
		{`extra == "socks"`, []string{"socks"}},
		{`extra == "Dev_Tools" or "test" == extra`, []string{"dev-tools", "test"}},
		{`(extra == "a" or extra == "b") and extra != "a" and python_version > "3"`, []string{"a", "b"}},
		{`extra == os_name`, nil},
	}
	for _, tt := range tests {
		m := mustMarker(t, tt.marker)
		if got := m.Extras(); !slices.Equal(got, tt.want) {
			t.Errorf("Extras(%s) = %q, want %q", tt.marker, got, tt.want)
		}
	}
	if got := (*Marker)(nil).Extras(); got != nil {
		t.Errorf("nil marker Extras() = %q", got)
	}
}

func TestEvaluateExtrasHoldsForAnyGivenExtra(t *testing.T) {
	env := linuxEnv(t, "linux/amd64:3.11")
	tests := []struct {
		marker string
		extras []string
		want   bool
	}{
		{`extra == "socks"`, nil, false},
		{`extra == "socks"`, []string{"test", "socks"}, true},
		{`extra == "socks"`, []string{"test"}, false},
		{`extra == "Socks"`, []string{"SOCKS"}, true},
		{`python_version >= "3.8"`, nil, true},
		{`python_version >= "3.8"`, []string{"x"}, true},
		{`extra != "socks"`, nil, true},
		{`extra != "socks"`, []string{"socks"}, false},
		{`extra == "test" and python_version < "3.8"`, []string{"test"}, false},
	}
	for _, tt := range tests {
		m := mustMarker(t, tt.marker)
		if got := m.EvaluateExtras(env, tt.extras); got != tt.want {
			t.Errorf("%s with extras %q = %v, want %v", tt.marker, tt.extras, got, tt.want)
		}
	}
	// The environment's own extra does not leak into EvaluateExtras.
	m, _ := ParseMarker(`extra == "socks"`)
	if m.EvaluateExtras(env.WithExtra("socks"), nil) {
		t.Error("EvaluateExtras with no extras used the environment's extra")
	}
}

func TestNilMarkerAlwaysHolds(t *testing.T) {
	var m *Marker
	if !m.Evaluate(nil) || !m.EvaluateExtras(nil, []string{"x"}) || m.String() != "" {
		t.Error("the nil marker must hold everywhere and print as empty")
	}
}

func TestMarkerEvaluatesPEP751SetVariables(t *testing.T) {
	env := Environment{Extras: "socks,Security", DependencyGroups: "test"}
	tests := []markerCase{
		{`'test' in dependency_groups`, true},
		{`'docs' in dependency_groups`, false},
		{`'docs' not in dependency_groups`, true},
		{`"security" in extras and "socks" in extras`, true},
		{`"SOCKS" in extras`, true},
		{`"s" in extras`, false},
	}
	wantEvaluates(t, env, tests)
	for _, tt := range tests {
		if got := mustMarker(t, tt.marker).Evaluate(Environment{}); got && strings.Contains(tt.marker, " in ") && !strings.Contains(tt.marker, "not in") {
			t.Errorf("%s holds with empty sets", tt.marker)
		}
	}
}
