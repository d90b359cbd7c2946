package fetch

import (
	"errors"
	"slices"
	"testing"

	"github.com/larder-build/larder/resolver/pylock"
)

func TestTargetTakesAFullNameOrALeadingPartOnlyOneTargetHas(t *testing.T) {
	amd311, amd312, arm := "linux/amd64:3.11.2:glibc2.36", "linux/amd64:3.12.1:glibc2.36", "linux/arm64:3.11.2:glibc2.36"
	lock := &pylock.Lock{Tool: pylock.Tool{Larder: &pylock.LarderTool{Targets: []string{amd311, amd312, arm}}}}
	tests := []struct {
		want, got string
		matches   []string // of the *TargetError; nil for no error
	}{
		{amd311, amd311, nil},
		{"linux/arm64", arm, nil},
		{"linux/amd64:3.11", amd311, nil},
		{"linux/amd64:3.12.1", amd312, nil},
		{"linux/amd64", "", []string{amd311, amd312}},
		{"linux/amd64:3.1", "", []string{}},
		{"linux/amd", "", []string{}},
		{"", "", []string{}},
	}
	for _, tt := range tests {
		got, err := Target(lock, tt.want)
		var te *TargetError
		switch {
		case tt.matches == nil && (err != nil || got != tt.got):
			t.Errorf("Target(%q) = %q, %v; want %q", tt.want, got, err, tt.got)
		case tt.matches != nil && (!errors.As(err, &te) || te.Want != tt.want || len(te.Targets) != 3 || !slices.Equal(te.Matches, tt.matches) && len(tt.matches) > 0):
			t.Errorf("Target(%q) = %q, %v; want a *TargetError matching %v", tt.want, got, err, tt.matches)
		}
	}
	if _, err := Target(&pylock.Lock{}, ""); !errors.As(err, new(*TargetError)) {
		t.Errorf("a lock without targets: %v, want a *TargetError", err)
	}
}
