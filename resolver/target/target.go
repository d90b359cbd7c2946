package target

import (
	"fmt"
	"strconv"
	"strings"
)

// DefaultLibc is the C library assumed when a target does not name one:
// glibc 2.35, that of Ubuntu 22.04, the oldest base image devstack uses.
var DefaultLibc = Libc{Kind: Glibc, Major: 2, Minor: 35}

// LibcKind names a C library family.
type LibcKind string

// The C library families that have wheel platform tags.
const (
	Glibc LibcKind = "glibc" // manylinux wheels
	Musl  LibcKind = "musl"  // musllinux wheels
)

// Libc is a C library family and version, such as glibc 2.36.
type Libc struct {
	Kind  LibcKind
	Major int
	Minor int
}

// String returns the libc in target syntax, e.g. "glibc2.36".
func (l Libc) String() string {
	return fmt.Sprintf("%s%d.%d", l.Kind, l.Major, l.Minor)
}

// Python is a CPython version. Patch is -1 when the target does not say.
type Python struct {
	Major int
	Minor int
	Patch int
}

// String returns "3.11" or, when the patch level is known, "3.11.2".
func (p Python) String() string {
	if p.Patch < 0 {
		return fmt.Sprintf("%d.%d", p.Major, p.Minor)
	}
	return fmt.Sprintf("%d.%d.%d", p.Major, p.Minor, p.Patch)
}

// Full returns the three-part version used for python_full_version; an
// unknown patch level counts as 0.
func (p Python) Full() string {
	patch := p.Patch
	if patch < 0 {
		patch = 0
	}
	return fmt.Sprintf("%d.%d.%d", p.Major, p.Minor, patch)
}

// Target is one platform a lock is resolved for and an image is baked for.
type Target struct {
	OS      string // "linux"
	Arch    string // OCI architecture: "amd64", "arm64"
	Variant string // OCI variant, e.g. "v8"; may be empty
	Python  Python
	Libc    Libc
}

// machines maps OCI architectures to the names Python reports in
// platform.machine() and uses in wheel platform tags.
var machines = map[string]string{
	"amd64":   "x86_64",
	"arm64":   "aarch64",
	"386":     "i686",
	"ppc64le": "ppc64le",
	"s390x":   "s390x",
	"arm":     "armv7l",
	"riscv64": "riscv64",
}

// Parse reads a target written as OS/ARCH[/VARIANT]:PYTHON[:LIBC].
func Parse(s string) (Target, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return Target{}, fmt.Errorf("target %q: want OS/ARCH:PYTHON[:LIBC], e.g. linux/amd64:3.11:glibc2.36", s)
	}
	t, err := ParsePlatform(parts[0])
	if err != nil {
		return Target{}, fmt.Errorf("target %q: %w", s, err)
	}
	if t.Python, err = ParsePython(parts[1]); err != nil {
		return Target{}, fmt.Errorf("target %q: %w", s, err)
	}
	t.Libc = DefaultLibc
	if len(parts) == 3 {
		if t.Libc, err = ParseLibc(parts[2]); err != nil {
			return Target{}, fmt.Errorf("target %q: %w", s, err)
		}
	}
	return t, nil
}

// ParsePlatform reads an OCI platform "os/arch[/variant]" into a Target
// with no Python or libc set.
func ParsePlatform(s string) (Target, error) {
	f := strings.Split(s, "/")
	if len(f) < 2 || len(f) > 3 || f[0] == "" || f[1] == "" {
		return Target{}, fmt.Errorf("platform %q: want os/arch[/variant], e.g. linux/amd64", s)
	}
	if f[0] != "linux" {
		return Target{}, fmt.Errorf("platform %q: only linux images are supported", s)
	}
	if _, ok := machines[f[1]]; !ok {
		return Target{}, fmt.Errorf("platform %q: unknown architecture %q (known: amd64, arm64, 386, arm, ppc64le, s390x, riscv64)", s, f[1])
	}
	t := Target{OS: f[0], Arch: f[1]}
	if len(f) == 3 {
		t.Variant = f[2]
	}
	return t, nil
}

// ParsePython reads a CPython version "3.11" or "3.11.2".
func ParsePython(s string) (Python, error) {
	f := strings.Split(s, ".")
	if len(f) < 2 || len(f) > 3 {
		return Python{}, fmt.Errorf("python version %q: want MAJOR.MINOR[.PATCH], e.g. 3.11", s)
	}
	n := make([]int, 3)
	n[2] = -1
	for i, x := range f {
		v, err := strconv.Atoi(x)
		if err != nil || v < 0 {
			return Python{}, fmt.Errorf("python version %q: want MAJOR.MINOR[.PATCH], e.g. 3.11", s)
		}
		n[i] = v
	}
	if n[0] != 3 || n[1] < 6 {
		return Python{}, fmt.Errorf("python version %q: only CPython 3.6 and later are supported", s)
	}
	return Python{Major: n[0], Minor: n[1], Patch: n[2]}, nil
}

// ParseLibc reads "glibc2.36" or "musl1.2".
func ParseLibc(s string) (Libc, error) {
	for _, k := range []LibcKind{Glibc, Musl} {
		rest, ok := strings.CutPrefix(s, string(k))
		if !ok {
			continue
		}
		maj, min, ok := strings.Cut(rest, ".")
		a, err1 := strconv.Atoi(maj)
		b, err2 := strconv.Atoi(min)
		if !ok || err1 != nil || err2 != nil || a < 0 || b < 0 {
			break
		}
		return Libc{Kind: k, Major: a, Minor: b}, nil
	}
	return Libc{}, fmt.Errorf("libc %q: want glibcMAJOR.MINOR or muslMAJOR.MINOR, e.g. glibc2.36", s)
}

// String returns the target in command-line syntax.
func (t Target) String() string {
	return t.Platform() + ":" + t.Python.String() + ":" + t.Libc.String()
}

// Platform returns the OCI platform string, e.g. "linux/arm64".
func (t Target) Platform() string {
	if t.Variant != "" {
		return t.OS + "/" + t.Arch + "/" + t.Variant
	}
	return t.OS + "/" + t.Arch
}

// Machine returns the architecture as Python names it (platform.machine()),
// e.g. "x86_64" for amd64.
func (t Target) Machine() string {
	return machines[t.Arch]
}
