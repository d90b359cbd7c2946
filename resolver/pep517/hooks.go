package pep517

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/larder-build/larder/internal/pythonenv"
)

// hookScript calls the metadata hook in the source tree given as argv[1]
// (building the wheel when the backend has no such hook), writing into
// argv[2], and prints a JSON result line. It uses only the
// standard library; build requirements must already be importable by the
// interpreter (no build isolation here).
const hookScript = `
import importlib, json, os, sys, traceback
src, out = sys.argv[1], sys.argv[2]
os.chdir(src)
bs = {}
if os.path.exists("pyproject.toml"):
    try:
        import tomllib
    except ImportError:
        tomllib = None
    if tomllib is not None:
        with open("pyproject.toml", "rb") as f:
            bs = tomllib.load(f).get("build-system", {})
name = bs.get("build-backend") or "setuptools.build_meta:__legacy__"
for p in reversed(bs.get("backend-path", [])):
    sys.path.insert(0, os.path.abspath(p))
sys.path.insert(0, src)
mod, _, attr = name.partition(":")
try:
    backend = importlib.import_module(mod)
except ImportError as e:
    print(json.dumps({"error": "cannot import build backend %s: %s" % (name, e)}))
    sys.exit(3)
for a in filter(None, attr.split(".")):
    backend = getattr(backend, a)
fn = getattr(backend, "prepare_metadata_for_build_wheel", None)
if fn is not None:
    print(json.dumps({"dist_info": fn(out, {})}))
else:
    print(json.dumps({"wheel": backend.build_wheel(out, {})}))
`

// Error is a failed hook, with the end of its output.
type Error struct {
	Hook string
	Dir  string
	Err  error
	Tail string // the last lines of the hook's output
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("running the PEP 517 %s hook in %s: %v", e.Hook, e.Dir, e.Err)
	if e.Tail != "" {
		msg += "\n" + e.Tail
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// tailLines keeps the last n lines of output.
func tailLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func run(ctx context.Context, python, src, out, hook string) (map[string]string, []byte, error) {
	cmd := exec.CommandContext(ctx, python, "-c", hookScript, src, out)
	// A stray PYTHONHOME or PYTHONPATH would stop the interpreter or
	// change what the backend imports.
	cmd.Env = append(pythonenv.Without(pythonenv.Interpreters), "PYTHONDONTWRITEBYTECODE=1", "PIP_NO_INPUT=1")
	var stdout, combined bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &combined
	err := cmd.Run()
	log := append(combined.Bytes(), stdout.Bytes()...)
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var res map[string]string
	if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &res); jerr != nil && err == nil {
		err = fmt.Errorf("unexpected hook output: %w", jerr)
	}
	if msg := res["error"]; msg != "" {
		err = errors.New(msg)
	}
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			err = fmt.Errorf("python interpreter %q not found: %w", python, err)
		}
		return nil, log, &Error{Hook: hook, Dir: src, Err: err, Tail: tailLines(log, 20)}
	}
	return res, log, nil
}

// Metadata returns the core metadata a build of the source tree would
// have, through prepare_metadata_for_build_wheel (or, for backends
// without it, by building the wheel).
func Metadata(ctx context.Context, python, src string) ([]byte, error) {
	out, err := os.MkdirTemp("", "larder-metadata-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(out)
	res, _, err := run(ctx, python, src, out, "metadata")
	if err != nil {
		return nil, err
	}
	if d := res["dist_info"]; d != "" {
		b, err := os.ReadFile(filepath.Join(out, filepath.Base(d), "METADATA"))
		if err != nil {
			return nil, &Error{Hook: "metadata", Dir: src, Err: err}
		}
		return b, nil
	}
	whl := filepath.Join(out, filepath.Base(res["wheel"]))
	return wheelMetadata(whl)
}
