package bytesize

import "testing"

func TestFormatUsesDecimalUnitsWithOneDecimal(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{
		{-1, "?"},
		{0, "0 B"},
		{999, "999 B"},
		{1000, "1.0 kB"},
		{1500, "1.5 kB"},
		{999_949, "999.9 kB"},
		{1_000_000, "1.0 MB"},
		{25_300_000, "25.3 MB"},
		{1_000_000_000, "1.0 GB"},
		{12_345_678_901, "12.3 GB"},
	} {
		if got := Format(c.n); got != c.want {
			t.Errorf("Format(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}
