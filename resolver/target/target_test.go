package target

import (
	"testing"

	"github.com/larder-build/larder/internal/parsetest"
)

func TestParseAcceptsCommandLineSyntax(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		machine string
	}{
		{"linux/amd64:3.11:glibc2.36", "linux/amd64:3.11:glibc2.36", "x86_64"},
		{"linux/arm64:3.12:musl1.2", "linux/arm64:3.12:musl1.2", "aarch64"},
		{"linux/arm64/v8:3.11.2", "linux/arm64/v8:3.11.2:glibc2.35", "aarch64"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		if got.String() != tt.want || got.Machine() != tt.machine {
			t.Errorf("Parse(%q) = %s (%s), want %s (%s)", tt.in, got, got.Machine(), tt.want, tt.machine)
		}
	}
}

func TestParseRejectsMalformedTargetsWithReason(t *testing.T) {
	parsetest.Refuses(t, "Parse", Parse, parsetest.Refusals{
		{"linux/amd64", "want OS/ARCH:PYTHON"},
		{"windows/amd64:3.11", "only linux"},
		{"linux/sparc:3.11", "unknown architecture"},
		{"linux/amd64:2.7", "CPython 3.6"},
		{"linux/amd64:3.x", "MAJOR.MINOR"},
		{"linux/amd64:3.11:glibc", "glibcMAJOR.MINOR"},
		{"linux/amd64:3.11:bionic1.0", "glibcMAJOR.MINOR"},
		{"amd64:3.11", "os/arch"},
	})
}

func TestPythonFullCountsUnknownPatchAsZero(t *testing.T) {
	p, err := ParsePython("3.12")
	if err != nil {
		t.Fatal(err)
	}
	if p.Full() != "3.12.0" || p.String() != "3.12" {
		t.Errorf("got %s / %s", p.Full(), p.String())
	}
}
