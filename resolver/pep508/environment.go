package pep508

import (
	"maps"

	"github.com/larder-build/larder/resolver/target"
)

// Environment maps marker variable names (the canonical ones, such as
// "python_version" and "extra") to their values in one installation.
type Environment map[string]string

// The marker variables of PEP 508. Legacy spellings such as "os.name" are
// accepted when parsing and stored under these names.
const (
	ImplementationName           = "implementation_name"
	ImplementationVersion        = "implementation_version"
	OSName                       = "os_name"
	PlatformMachine              = "platform_machine"
	PlatformPythonImplementation = "platform_python_implementation"
	PlatformRelease              = "platform_release"
	PlatformSystem               = "platform_system"
	PlatformVersion              = "platform_version"
	PythonFullVersion            = "python_full_version"
	PythonVersion                = "python_version"
	SysPlatform                  = "sys_platform"
	Extra                        = "extra"
	// Extras and DependencyGroups are PEP 751's set-valued variables, for
	// markers in locks: `"test" in dependency_groups`. An Environment
	// holds them as comma-separated names.
	Extras           = "extras"
	DependencyGroups = "dependency_groups"
)

// EnvironmentFor returns the marker environment of CPython on target t, as
// packaging's default_environment would report it inside the image.
//
// platform_release and platform_version describe the running kernel
// (platform.release() and platform.version()), which an image does not
// determine: they are left empty, so markers that test them see "". The
// environment has no extra; see WithExtra.
func EnvironmentFor(t target.Target) Environment {
	full := t.Python.Full()
	return Environment{
		ImplementationName:           "cpython",
		ImplementationVersion:        full,
		OSName:                       "posix",
		PlatformMachine:              t.Machine(),
		PlatformPythonImplementation: "CPython",
		PlatformRelease:              "",
		PlatformSystem:               "Linux",
		PlatformVersion:              "",
		PythonFullVersion:            full,
		PythonVersion:                fmtMinor(t.Python),
		SysPlatform:                  "linux",
	}
}

func fmtMinor(p target.Python) string {
	return target.Python{Major: p.Major, Minor: p.Minor, Patch: -1}.String()
}

// WithExtra returns a copy of e in which the variable "extra" is extra, as
// an installer sets it while evaluating the dependencies an extra adds.
func (e Environment) WithExtra(extra string) Environment {
	c := maps.Clone(e)
	if c == nil {
		c = Environment{}
	}
	c[Extra] = extra
	return c
}
