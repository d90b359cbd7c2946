package pep517

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// probeScript prints the interpreter's version, then the build modules
// it cannot import, one per line. Importing (not just finding) catches a
// broken installation as well as a missing one.
const probeScript = `
import sys
print("%d.%d" % sys.version_info[:2])
for m in ("setuptools", "wheel"):
    try:
        __import__(m)
    except Exception:
        print(m)
`

// Interpreter is what Probe learns about a Python interpreter.
type Interpreter struct {
	// Path is the interpreter as given to Probe.
	Path string
	// Version is "3.X".
	Version string
	// Missing are the build modules (setuptools, wheel) it cannot
	// import: building an sdist with it needs them.
	Missing []string
}

// CanBuild reports whether the interpreter has what a setuptools build
// without isolation needs.
func (i Interpreter) CanBuild() bool { return len(i.Missing) == 0 }

// Probe runs python for at most timeout and reports its version and
// whether it can import setuptools and wheel. python is run as the
// program, never given as an argument, and nothing else from the caller
// reaches its command line.
func Probe(ctx context.Context, python string, timeout time.Duration) (Interpreter, error) {
	// The interpreter is the program, never an argument, but a name that
	// looks like an option or carries control characters is no
	// interpreter anyone meant.
	if python == "" || strings.HasPrefix(python, "-") || strings.ContainsFunc(python, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return Interpreter{}, fmt.Errorf("probing %q: not an interpreter path or name", python)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-c", probeScript)
	// With -c the working folder comes first on sys.path: run from "/",
	// so that a setuptools.py of the project is not taken for the real
	// one. (Not -I: builds see the user's site-packages, so should this.)
	cmd.Dir = "/"
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	// A wrapper script (a pyenv shim) may leave a child holding the
	// pipes after it is killed: stop waiting for them soon after.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return Interpreter{}, fmt.Errorf("probing %s: no answer within %s", python, timeout)
	}
	if err != nil {
		// The first line says it for a wrapper ("pyenv: python3.12:
		// command not found"); the exit status says the rest.
		msg := err.Error()
		for _, l := range strings.Split(stderr.String(), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				msg = l + " (" + msg + ")"
				break
			}
		}
		return Interpreter{}, fmt.Errorf("probing %s: %s", python, msg)
	}
	lines := strings.Fields(out.String())
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "3.") {
		return Interpreter{}, fmt.Errorf("probing %s: it does not print a Python 3 version (%q)", python, strings.TrimSpace(out.String()))
	}
	return Interpreter{Path: python, Version: lines[0], Missing: lines[1:]}, nil
}
