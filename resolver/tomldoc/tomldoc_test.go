package tomldoc

import "testing"

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
