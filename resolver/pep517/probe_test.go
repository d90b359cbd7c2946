package pep517

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestProbeRefusesNamesThatAreNoInterpreter: what reaches Probe may come
// from larder.toml; an option-like or control-character name is refused
// before anything runs.
func TestProbeRefusesNamesThatAreNoInterpreter(t *testing.T) {
	for _, python := range []string{"", "-c", "--version", "python3\n-c", "py\x00thon"} {
		_, err := Probe(context.Background(), python, time.Second)
		if err == nil || !strings.Contains(err.Error(), "not an interpreter") {
			t.Errorf("Probe(%q): %v", python, err)
		}
	}
}
