package resolver_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestThePipelineRunsOneWay: resolver → wheelhouse → layers → images →
// cmd, and nothing runs back up: no package of a stage, nor anything it
// links (internal packages included), imports a later stage. A helper
// package shared by two stages belongs in internal, below both.
func TestThePipelineRunsOneWay(t *testing.T) {
	const module = "github.com/larder-build/larder/"
	stages := []string{"resolver", "wheelhouse", "layers", "images", "cmd"}
	for i, stage := range stages[:len(stages)-1] {
		out, err := exec.Command("go", "list", "-deps", "--", module+stage+"/...").Output()
		if err != nil {
			t.Fatalf("go list -deps %s/...: %v", stage, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, later := range stages[i+1:] {
				if dep == module+later || strings.HasPrefix(dep, module+later+"/") {
					t.Errorf("%s/... links %s, a later stage (%s)", stage, dep, later)
				}
			}
		}
	}
}
