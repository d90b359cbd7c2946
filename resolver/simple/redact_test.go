package simple

import "testing"

func TestRedactURLHidesPasswordsEvenOfURLsThatDoNotParse(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://pypi.org/simple/", "https://pypi.org/simple/"},
		{"https://ci:tok@example.org/simple/", "https://ci:xxxxx@example.org/simple/"},
		{"https://ghp_token@example.org/simple/", "https://xxxxx@example.org/simple/"},
		{"http://ci:tok@[::1/simple/", "http://xxxxx@[::1/simple/"},
		{"//ci:tok@%zz/simple/", "//xxxxx@%zz/simple/"},
		{"%zz", "%zz"},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
