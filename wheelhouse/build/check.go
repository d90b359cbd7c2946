package build

import (
	"fmt"
	"strings"

	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/pep440"
	"github.com/larder-build/larder/resolver/tags"
)

// checkWheel refuses a built wheel whose name does not parse, whose project
// (and, for an sdist, version) is not the one asked for, or whose tags the
// target does not accept: a build that quietly produced something else
// must never reach the wheelhouse.
func checkWheel(filename string, req Request) (dist.WheelName, error) {
	w, err := dist.ParseWheelName(filename)
	if err != nil {
		return dist.WheelName{}, fmt.Errorf("built wheel %q: %w", filename, err)
	}
	if got, want := w.Project(), dist.NormalizeName(req.Project); got != want {
		return w, fmt.Errorf("built wheel %s is for project %q, not %q", filename, got, want)
	}
	if req.VCS == nil && req.Version != "" {
		got, gerr := pep440.Parse(w.Version)
		want, werr := pep440.Parse(req.Version)
		if gerr != nil || werr != nil || pep440.Compare(got, want) != 0 {
			return w, fmt.Errorf("built wheel %s has version %q, not %q", filename, w.Version, req.Version)
		}
	}
	if _, ok := tags.NewRanker(req.Target).Rank(w.Tags); !ok {
		return w, fmt.Errorf("built wheel %s (tags %s) does not fit target %s", filename, w.TagSet, req.Target)
	}
	return w, nil
}

// isPure reports whether a wheel runs on any platform and any Python 3
// implementation (py*-none-any), so that one build serves every target.
func isPure(w dist.WheelName) bool {
	for _, t := range w.Tags {
		if !strings.HasPrefix(t.Interpreter, "py") || t.ABI != "none" || t.Platform != "any" {
			return false
		}
	}
	return len(w.Tags) > 0
}
