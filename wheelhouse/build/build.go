package build

import (
	"context"
	"fmt"
	"strings"

	"github.com/larder-build/larder/resolver/target"
)

// Request names one source to build into a wheel for one target.
type Request struct {
	Project, Version string
	Sdist            string // path of a verified sdist file, or ""
	VCS              *VCS   // or nil
	Target           target.Target
}

// VCS is a git source pinned by commit; Subdirectory is where the project
// sits inside the repository ("" for the top). URL may carry a user and
// token, which reach git only through its environment and are in no
// cache key or message.
type VCS struct{ URL, Commit, Subdirectory string }

// Builder turns a source into a wheel. BuildKit will be a second
// implementation later.
type Builder interface {
	// Build returns the wheel's path inside outDir.
	Build(ctx context.Context, req Request, outDir string) (string, error)
}

// Error is a failed build: the project, the last lines of the log, and where
// the whole log is.
type Error struct {
	Project, Version string
	Python           string // the interpreter that ran the build ("" when none did)
	Log              string // the last lines of the build log
	LogPath          string // the whole log, "" when it could not be saved
	Err              error
}

// MissingWheelPackage reports whether the build failed because the
// interpreter has no 'wheel' package (setuptools without it cannot make a
// wheel with --no-build-isolation).
func (e *Error) MissingWheelPackage() bool {
	return strings.Contains(e.Log, "invalid command 'bdist_wheel'")
}

// Error reports the project, the cause, the log tail and the log's path.
func (e *Error) Error() string {
	s := fmt.Sprintf("building %s %s: %v", e.Project, e.Version, e.Err)
	if e.Python != "" {
		s += " (with " + e.Python + ")"
	}
	if e.LogPath != "" {
		s += fmt.Sprintf(" (full log: %s)", e.LogPath)
	}
	if e.Log != "" {
		s += "\n" + e.Log
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }
