// Package pythonenv builds the environment of a Python subprocess (pip,
// an sdist build) that must see only what larder gives it: no variable
// that configures the interpreter (PYTHONHOME, PYTHONPATH,
// PYTHONSTARTUP, PYTHONINSPECT, _PYTHON_HOST_PLATFORM, ...), a virtual
// environment (VIRTUAL_ENV, CONDA_PREFIX) or pip (PIP_*), and a
// throwaway HOME, so that a developer's or a CI machine's shell cannot
// change what pip does.
//
// wheelhouse/build (pip wheel for sdists) and internal/piptest (the real
// pip the tests run against larder's indexes) both start from Isolated and
// add their own ends: build keeps the caller's proxies and pins
// SOURCE_DATE_EPOCH, piptest drops the proxies and turns pip's cache off.
// What configures Python is a fact about Python, not about larder, so one
// list serves both; its test runs a real interpreter with each variable
// set to something hostile.
package pythonenv

import (
	"os"
	"path/filepath"
	"strings"
)

// Configures reports whether the environment variable key changes what a
// Python interpreter or pip reads, runs or installs: the interpreter's own
// variables (Interpreters), PIP_*, the virtual environment markers, and
// HOME and the XDG folders (where pip finds its configuration and caches).
// Case is ignored: dropping a variable Python would not have read costs
// nothing.
func Configures(key string) bool {
	k := strings.ToUpper(key)
	switch {
	case Interpreters(k), strings.HasPrefix(k, "PIP_"), strings.HasPrefix(k, "XDG_"):
		return true
	}
	switch k {
	case "HOME", "VIRTUAL_ENV", "CONDA_PREFIX":
		return true
	}
	return false
}

// Interpreters reports whether the environment variable key is one the
// Python interpreter reads at start-up (PYTHONHOME, PYTHONPATH,
// PYTHONINSPECT, ...: every PYTHON* variable) or sysconfig reads
// (_PYTHON_HOST_PLATFORM, which changes the platform tags pip accepts),
// or macOS's venv launcher marker. Unlike Configures it leaves HOME
// alone, so a pyenv shim still finds its interpreter.
func Interpreters(key string) bool {
	k := strings.ToUpper(key)
	return strings.HasPrefix(k, "PYTHON") || strings.HasPrefix(k, "_PYTHON_") || k == "__PYVENV_LAUNCHER__"
}

// Without returns the process environment without every variable drop
// reports.
func Without(drop func(key string) bool) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !drop(k) {
			env = append(env, kv)
		}
	}
	return env
}

// Isolated returns the process environment without every variable
// Configures names or drop (which may be nil) reports, then HOME and the
// XDG cache and config folders under home, pip's configuration file set
// to the null device, pip's prompts and version check off, and Python's
// user site and bytecode writing off. The caller appends what its run
// needs on top.
func Isolated(home string, drop func(key string) bool) []string {
	env := Without(func(k string) bool { return Configures(k) || (drop != nil && drop(k)) })
	return append(env,
		"HOME="+home,
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"PIP_CONFIG_FILE="+os.DevNull,
		"PIP_NO_INPUT=1",
		"PIP_DISABLE_PIP_VERSION_CHECK=1",
		"PYTHONNOUSERSITE=1",
		"PYTHONDONTWRITEBYTECODE=1",
	)
}
