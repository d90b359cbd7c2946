package tags

import (
	"strconv"

	"github.com/larder-build/larder/resolver/target"
)

// Bounds past which a target describes no real system. Supported gives
// nothing for such a target rather than a list of millions of tags.
const (
	maxPythonMinor = 99
	maxLibcMajor   = 9
	maxLibcMinor   = 999
)

// lastGlibcMinor is the minor version assumed for a glibc major series that
// has ended, so that a glibc 3.x target still accepts every 2.x wheel. glibc
// has never left 2.x; 50 is the guess packaging makes too.
const lastGlibcMinor = 50

// legacyManylinux maps the glibc versions of the manylinux1, manylinux2010
// and manylinux2014 policies (PEP 513, 571, 599) to their names; installers
// list each one right after the manylinux_2_N tag it is an alias of.
var legacyManylinux = map[[2]int]string{
	{2, 17}: "manylinux2014",
	{2, 12}: "manylinux2010",
	{2, 5}:  "manylinux1",
}

// manylinuxArchs are the architectures whose CPython accepts manylinux
// wheels. For i686 and armv7l packaging checks the interpreter's ELF header
// (a 32-bit x86 build; the hard-float ARM EABI); the CPython of a 386 or arm
// image passes that check. riscv64 and loongarch64 are in today's packaging
// and not in pip's vendored 21.3.
var manylinuxArchs = map[string]bool{
	"x86_64": true, "i686": true, "aarch64": true, "armv7l": true,
	"ppc64": true, "ppc64le": true, "s390x": true, "riscv64": true, "loongarch64": true,
}

// Platforms returns the platform tags a target accepts, best first: for
// glibc, manylinux_2_N_ARCH from the target's glibc down to the oldest the
// architecture has (2.5 on x86, 2.17 elsewhere) with the legacy manylinux
// aliases in place; for musl, musllinux_1_N_ARCH down to 1.0; then
// linux_ARCH. It returns nil for a target that is not Linux, has an unknown
// architecture or versions no real system has.
func Platforms(t target.Target) []string {
	arch := t.Machine()
	if t.OS != "linux" || arch == "" || !sane(t) {
		return nil
	}
	var out []string
	switch t.Libc.Kind {
	case target.Glibc:
		if manylinuxArchs[arch] {
			out = manylinux(out, arch, t.Libc.Major, t.Libc.Minor)
		}
	case target.Musl:
		for minor := t.Libc.Minor; minor >= 0; minor-- {
			out = append(out, "musllinux_"+itoa(t.Libc.Major)+"_"+itoa(minor)+"_"+arch)
		}
	}
	return append(out, "linux_"+arch)
}

// manylinux appends the manylinux tags for a glibc version: every minor of
// its major series down to 0 (or down to the architecture's floor in the
// 2.x series), then every earlier major series from its last minor.
func manylinux(out []string, arch string, major, minor int) []string {
	floor := 17 // manylinux2014 is the oldest policy for most architectures
	if arch == "x86_64" || arch == "i686" {
		floor = 5 // manylinux1
	}
	for m := major; m == major || m >= 2; m-- {
		top, bottom := minor, 0
		if m != major {
			top = lastGlibcMinor
		}
		if m == 2 {
			bottom = floor
		}
		for n := top; n >= bottom; n-- {
			out = append(out, "manylinux_"+itoa(m)+"_"+itoa(n)+"_"+arch)
			if legacy, ok := legacyManylinux[[2]int{m, n}]; ok {
				out = append(out, legacy+"_"+arch)
			}
		}
	}
	return out
}

// Supported returns every tag a CPython of the target's version on the
// target's platform accepts, best first: the order of packaging's
// sys_tags(). That is cpython_tags (cpXY-cpXY[m], cpXY-abi3, cpXY-none for
// each platform, then cpXW-abi3 for each older minor down to cp32) followed
// by compatible_tags (pyXY, py3, then each older pyXW down to py30 with
// "none" for each platform, then cpXY-none-any, then the same Python tags
// with none-any).
//
// CPython before 3.8 marks its ABI with "m" (pymalloc builds, which every
// distribution's CPython is). Debug and free-threaded builds are not targets.
func Supported(t target.Target) []Tag {
	platforms := Platforms(t)
	if platforms == nil {
		return nil
	}
	major, minor := t.Python.Major, t.Python.Minor
	cp := "cp" + itoa(major) + itoa(minor)
	abi := cp
	if major < 3 || major == 3 && minor < 8 {
		abi += "m"
	}
	abi3 := major > 3 || major == 3 && minor >= 2 // PEP 384 arrived in 3.2
	pys := pythonRange(major, minor)

	n := len(platforms) * 3
	if abi3 {
		n += len(platforms) * max(minor-2, 0)
	}
	n += len(pys)*(len(platforms)+1) + 1
	out := make([]Tag, 0, n)

	for _, p := range platforms {
		out = append(out, Tag{cp, abi, p})
	}
	if abi3 {
		for _, p := range platforms {
			out = append(out, Tag{cp, "abi3", p})
		}
	}
	for _, p := range platforms {
		out = append(out, Tag{cp, "none", p})
	}
	if abi3 {
		for m := minor - 1; m >= 2; m-- {
			older := "cp" + itoa(major) + itoa(m)
			for _, p := range platforms {
				out = append(out, Tag{older, "abi3", p})
			}
		}
	}

	for _, py := range pys {
		for _, p := range platforms {
			out = append(out, Tag{py, "none", p})
		}
	}
	out = append(out, Tag{cp, "none", "any"})
	for _, py := range pys {
		out = append(out, Tag{py, "none", "any"})
	}
	return out
}

// pythonRange lists the generic Python tags from the target's version down:
// pyXY, then the major-only pyX (a packager's cross-version promise, not
// shorthand for pyX0), then every earlier minor down to pyX0.
func pythonRange(major, minor int) []string {
	out := make([]string, 0, minor+2)
	out = append(out, "py"+itoa(major)+itoa(minor), "py"+itoa(major))
	for m := minor - 1; m >= 0; m-- {
		out = append(out, "py"+itoa(major)+itoa(m))
	}
	return out
}

func sane(t target.Target) bool {
	return t.Python.Major >= 0 && t.Python.Minor >= 0 && t.Python.Minor <= maxPythonMinor && t.Python.Major <= 9 &&
		t.Libc.Major >= 0 && t.Libc.Major <= maxLibcMajor && t.Libc.Minor >= 0 && t.Libc.Minor <= maxLibcMinor
}

func itoa(i int) string { return strconv.Itoa(i) }

// Ranker ranks wheels for one target. Build it once per target with
// NewRanker; it is safe for concurrent use.
type Ranker struct {
	tags  []Tag
	ranks map[Tag]int
}

// NewRanker precomputes the supported tags of a target.
func NewRanker(t target.Target) *Ranker {
	tags := Supported(t)
	ranks := make(map[Tag]int, len(tags))
	for i, tag := range tags {
		if _, dup := ranks[tag]; !dup {
			ranks[tag] = i
		}
	}
	return &Ranker{tags: tags, ranks: ranks}
}

// Rank returns the best rank among a wheel's tags: the position of the
// most preferred supported tag in Supported's list, lower being better. ok
// is false when the target supports none of them. Tags are compared as
// given; ParseTagSet lower-cases them.
func (r *Ranker) Rank(tags []Tag) (rank int, ok bool) {
	rank = -1
	for _, t := range tags {
		if i, found := r.ranks[t]; found && (rank < 0 || i < rank) {
			rank = i
		}
	}
	return rank, rank >= 0
}

// Tags returns the supported tags, best first. The caller must not modify
// the slice.
func (r *Ranker) Tags() []Tag {
	return r.tags
}
