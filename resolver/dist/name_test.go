package dist

import (
	"strings"
	"testing"
)

func TestNormalizeNameCollapsesSeparatorRunsAndLowercases(t *testing.T) {
	tests := []struct{ in, want string }{
		{"requests", "requests"},
		{"Django", "django"},
		{"zope.interface", "zope-interface"},
		{"Zope_Interface", "zope-interface"},
		{"foo-_.-bar", "foo-bar"},
		{"foo--bar", "foo-bar"},
		{"A-B.C_D", "a-b-c-d"},
		{"-leading", "-leading"},
		{"trailing.", "trailing-"},
		{"", ""},
		{"Foo__Bar..baz", "foo-bar-baz"},
		{"typing_extensions", "typing-extensions"},
		{"a-_.b", "a-b"},
		{"A", "a"},
		{"x--y", "x-y"},
	}
	for _, tt := range tests {
		if got := NormalizeName(tt.in); got != tt.want {
			t.Errorf("NormalizeName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestValidNameFollowsTheNameFormat(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"requests", true},
		{"a", true},
		{"9", true},
		{"zope.interface", true},
		{"Foo_Bar-2", true},
		{"a..b", true},
		{"", false},
		{"-foo", false},
		{"foo-", false},
		{"_foo", false},
		{"foo.", false},
		{"foo bar", false},
		{"foo+bar", false},
		{"café", false},
	}
	for _, tt := range tests {
		if got := ValidName(tt.in); got != tt.want {
			t.Errorf("ValidName(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// nameVariants spells a normalized name the ways filenames and metadata do.
func nameVariants(n string) []string {
	return []string{
		n,
		strings.ToUpper(n),
		strings.ReplaceAll(n, "-", "_"),
		strings.ReplaceAll(n, "-", "."),
		strings.ReplaceAll(n, "-", "-_."),
		strings.ToUpper(n[:1]) + strings.ReplaceAll(n[1:], "-", "__"),
		"_" + n + ".",
	}
}

func TestNormalizeNameAndValidNameMatchPackagingOnPyPINames(t *testing.T) {
	sample, _ := pypiSample(t)
	var names []string
	for _, n := range sample {
		names = append(names, nameVariants(n)...)
	}
	names = append(names, "", "-", "a", "café", "İstanbul", "x y", "ß", "a\tb")
	var resp struct {
		Canonical []string `json:"canonical"`
		Valid     []bool   `json:"valid"`
	}
	reference(t, map[string]any{"op": "names", "names": names}, &resp)
	if len(resp.Canonical) != len(names) || len(resp.Valid) != len(names) {
		t.Fatalf("reference answered %d/%d of %d names", len(resp.Canonical), len(resp.Valid), len(names))
	}
	bad := 0
	for i, n := range names {
		if n == "İstanbul" {
			// Python lower-cases U+0130 to "i" and a combining dot, Go to
			// "i" alone: an invalid name either way.
			continue
		}
		if got := NormalizeName(n); got != resp.Canonical[i] {
			t.Errorf("NormalizeName(%q) = %q, canonicalize_name gives %q", n, got, resp.Canonical[i])
			bad++
		}
		if got := ValidName(n); got != resp.Valid[i] {
			t.Errorf("ValidName(%q) = %v, the spec's regex gives %v", n, got, resp.Valid[i])
			bad++
		}
		if bad > 20 {
			t.Fatal("too many differences")
		}
	}
}

func TestFileNameFallsBackToTheLastPartOfURLThenPath(t *testing.T) {
	tests := []struct{ name, url, path, want string }{
		{"a-1.0.tar.gz", "https://x/b-1.0.tar.gz", "c.whl", "a-1.0.tar.gz"},
		{"", "https://x/files/b-1.0.tar.gz", "c.whl", "b-1.0.tar.gz"},
		{"", "", "dist/c-1.0-py3-none-any.whl", "c-1.0-py3-none-any.whl"},
		{"", "", `dist\d-1.0.tar.gz`, "d-1.0.tar.gz"},
		{"", "", "e.whl", "e.whl"},
		{"", "", "", ""},
	}
	for _, tt := range tests {
		if got := FileName(tt.name, tt.url, tt.path); got != tt.want {
			t.Errorf("FileName(%q, %q, %q) = %q, want %q", tt.name, tt.url, tt.path, got, tt.want)
		}
	}
}
