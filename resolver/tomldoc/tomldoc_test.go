package tomldoc

import (
	"strings"
	"testing"

	toml "github.com/pelletier/go-toml/v2"
)

func TestQuoteWritesEveryValidStringAsTOMLReadsIt(t *testing.T) {
	for _, s := range []string{
		"", "plain", "requirements/a\x7fb.txt", "c\nurl=1.txt", "tab\there", "\x00\x01\x1f",
		`quote " and back\slash`, "\b\f\r", "unicode \u00e9 \U0001F600 \u2028", "\uFFFD itself",
	} {
		q := Quote(s)
		if strings.Contains(q, `\x`) {
			t.Errorf("Quote(%q) = %s: \\x is not a TOML escape", s, q)
		}
		var v struct{ K string }
		if err := toml.Unmarshal([]byte("K = "+q+"\n"), &v); err != nil || v.K != s {
			t.Errorf("Quote(%q) = %s reads back as %q, %v", s, q, v.K, err)
		}
	}
}

func TestKeyLinesLocateNestedArrayTablesDottedAndQuotedKeys(t *testing.T) {
	doc := `a.b = 1
[[packages]]
name = "x"
[[packages.wheels]]
url = "u"
[[packages]]
name = "y"
wheels = [
  { url = "v" },
  { url = "w",
    hashes = { sha256 = "00" } },
]
[packages.tool."a.b[0]"]
"quoted \" key" = [[1], [2,
  3]]
`
	x := Index("f", []byte(doc))
	tests := []struct {
		path string
		line int
	}{
		{"a", 1}, {"a.b", 1},
		{"packages[0]", 2}, {"packages[0].name", 3},
		{"packages[0].wheels[0].url", 5},
		{"packages[1].name", 7},
		{"packages[1].wheels[1]", 10}, {"packages[1].wheels[1].hashes.sha256", 11},
		{`packages[1].tool."a.b[0]"`, 13},
		{`packages[1].tool."a.b[0]"."quoted \" key"[1][1]`, 15},
		{"packages[1].wheels[1].hashes.md5", 11}, // absent: nearest ancestor
		{"nowhere", 0},
	}
	for _, tt := range tests {
		if got := x.Line(tt.path); got != tt.line {
			t.Errorf("line(%s) = %d, want %d", tt.path, got, tt.line)
		}
	}
}

func TestKeyPathsSplitOnlyOutsideQuotes(t *testing.T) {
	tests := []struct{ path, parent, stripped string }{
		{"a.b[3].c", "a.b[3]", "a.b.c"},
		{`a."x.y[1]"[2]`, `a."x.y[1]"`, `a."x.y[1]"`},
		{`"q\"."[0]`, `"q\"."`, `"q\"."`},
		{"top", "", "top"},
	}
	for _, tt := range tests {
		if got := ParentKey(tt.path); got != tt.parent {
			t.Errorf("ParentKey(%s) = %s, want %s", tt.path, got, tt.parent)
		}
		if got := StripIndexes(tt.path); got != tt.stripped {
			t.Errorf("StripIndexes(%s) = %s, want %s", tt.path, got, tt.stripped)
		}
	}
}

func TestReadTableReadsATableAndIsNilOtherwiseReportingANonTable(t *testing.T) {
	const doc = "[vcs]\nurl = \"u\"\n[pkg]\nvcs = \"not a table\"\n"
	url := func(t *Table) string { return t.Str("url") }
	tests := []struct {
		name    string
		in      string // the table read from: "" for the root
		key     string
		want    string // "" for nil
		problem string // "" for none
	}{
		{"a table is read", "", "vcs", "u", ""},
		{"an absent key is nil, no problem", "", "archive", "", ""},
		{"a value that is not a table is nil, and a problem naming the key", "pkg", "vcs", "", "f.toml:4: pkg.vcs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := Parse("f.toml", []byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			if tt.in != "" {
				in = in.Sub(tt.in)
			}
			got := ReadTable(in, tt.key, url)
			if (got == nil) != (tt.want == "") || got != nil && *got != tt.want {
				t.Errorf("ReadTable(%q) = %v, want %q", tt.key, got, tt.want)
			}
			err = in.P.Err()
			if tt.problem == "" && err != nil || tt.problem != "" && (err == nil || !strings.Contains(err.Error(), tt.problem)) {
				t.Errorf("problems: %v, want %q", err, tt.problem)
			}
		})
	}
}
