package simple

import (
	"strings"
	"testing"
)

func TestValidSHA256TakesOnlySixtyFourLowerCaseHexDigits(t *testing.T) {
	ok := strings.Repeat("0123456789abcdef", 4)
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{ok, true},
		{strings.ToUpper(ok), false},
		{ok[:63], false},
		{ok + "0", false},
		{ok[:63] + "g", false},
		{"", false},
		{"sha256:" + ok[:57], false},
	} {
		if got := ValidSHA256(tc.s); got != tc.want {
			t.Errorf("ValidSHA256(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}
