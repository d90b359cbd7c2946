package pep508

import (
	"maps"
	"testing"
)

func TestEnvironmentForDescribesCPythonOnLinux(t *testing.T) {
	got := linuxEnv(t, "linux/arm64:3.12")
	want := Environment{
		"implementation_name":            "cpython",
		"implementation_version":         "3.12.0",
		"os_name":                        "posix",
		"platform_machine":               "aarch64",
		"platform_python_implementation": "CPython",
		"platform_release":               "",
		"platform_system":                "Linux",
		"platform_version":               "",
		"python_full_version":            "3.12.0",
		"python_version":                 "3.12",
		"sys_platform":                   "linux",
	}
	if !maps.Equal(got, want) {
		t.Errorf("EnvironmentFor(linux/arm64:3.12) = %v, want %v", got, want)
	}
	if env := linuxEnv(t, "linux/amd64:3.11.7"); env[PythonFullVersion] != "3.11.7" || env[PythonVersion] != "3.11" || env[PlatformMachine] != "x86_64" {
		t.Errorf("EnvironmentFor(linux/amd64:3.11.7) = %v", env)
	}
}

func TestWithExtraCopiesTheEnvironment(t *testing.T) {
	env := linuxEnv(t, "linux/amd64:3.11")
	socks := env.WithExtra("socks")
	if socks[Extra] != "socks" {
		t.Errorf("WithExtra: extra = %q", socks[Extra])
	}
	if _, ok := env[Extra]; ok {
		t.Error("WithExtra changed the original environment")
	}
	if got := Environment(nil).WithExtra("x"); got[Extra] != "x" {
		t.Errorf("nil.WithExtra = %v", got)
	}
}
