package pep508

import (
	"bufio"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/larder-build/larder/resolver/target"
)

// This file builds the corpora the reference comparison runs on: markers
// and requirement strings generated from a fixed seed, plus real ones.

// referenceEnvironments are the environments markers are evaluated in:
// both architectures and four CPython versions, without an extra and with
// two, and two made-up ones that exercise a pre-release interpreter and a
// real kernel's platform_release and platform_version.
func referenceEnvironments(t testing.TB) []Environment {
	var envs []Environment
	for _, arch := range []string{"amd64", "arm64"} {
		for _, py := range []string{"3.8.18", "3.11.7", "3.12.1", "3.13.0"} {
			tg, err := target.Parse("linux/" + arch + ":" + py)
			if err != nil {
				t.Fatal(err)
			}
			env := EnvironmentFor(tg)
			envs = append(envs, env, env.WithExtra("socks"), env.WithExtra("test"))
		}
	}
	tg, err := target.Parse("linux/amd64:3.13")
	if err != nil {
		t.Fatal(err)
	}
	pre := EnvironmentFor(tg).WithExtra("dev-tools")
	pre[PythonVersion], pre[PythonFullVersion], pre[ImplementationVersion] = "3.14", "3.14.0a1", "3.14.0a1"
	host := EnvironmentFor(tg)
	host[PlatformRelease] = "5.15.0-91-generic"
	host[PlatformVersion] = "#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023"
	return append(envs, pre, host)
}

// markerValues are the strings a generated comparison draws from, per
// variable: real values, near misses, versions of every shape (wildcards,
// pre-releases, local labels, invalid ones) and empty strings. None holds
// a quote, a backslash or a tab, where 21.3's output is knowingly
// different (see deviations_test.go).
var markerValues = map[string][]string{
	PythonVersion: {"2.7", "3", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "4",
		"3.*", "3.11.*", "3.8.0", "3.12.0rc1", "3.1O", "", "3.11+local", "3.11.dev0", "v3.8", " 3.8 ",
		"3.8 3.9", "3.10 3.11 3.12", "3.8.*.1", "3.11.0.post1", "1!3.8", "3.13a", "3,8"},
	PythonFullVersion: {"3.8.0", "3.8.18", "3.8.19", "3.11.7", "3.11.6", "3.11.0", "3.12.1", "3.12.0", "3.13.0",
		"3.13.0a1", "3.13.0rc2", "3.14.0a1", "3.12.*", "3.11.7+x", "3.11.7.0", "3.11", "3", "", "3.11.7 3.12.1",
		"3.8.18.dev1", "3.11.*.dev1", "cpython"},
	OSName:                       {"posix", "nt", "java", "", "POSIX", "pos", "posix nt", "3.8"},
	SysPlatform:                  {"linux", "linux2", "win32", "darwin", "cygwin", "emscripten", "aix", "freebsd12", "lin", "", "Linux", "linux win32"},
	PlatformSystem:               {"Linux", "Windows", "Darwin", "Java", "linux", "", "Emscripten", "Lin"},
	PlatformMachine:              {"x86_64", "aarch64", "arm64", "AMD64", "amd64", "i686", "ppc64le", "s390x", "armv7l", "x86", "", "x86_64 aarch64", "X86_64"},
	PlatformPythonImplementation: {"CPython", "PyPy", "Jython", "IronPython", "cpython", "", "CPy", "GraalVM"},
	ImplementationName:           {"cpython", "pypy", "jython", "graalpy", "CPython", "", "cpy"},
	ImplementationVersion:        {"3.8", "3.11.7", "3.12", "3.13.0", "7.3.11", "3.11.*", "", "3.14.0a1", "3.8.18+cp"},
	PlatformRelease:              {"", "5.15.0", "20.0", "5.15.0-91-generic", "5", "6.1", "4.19.0+deb10", "10"},
	PlatformVersion:              {"", "10.0", "#1 SMP", "#101-Ubuntu", "1", "10.0.19041"},
	Extra:                        {"socks", "test", "testing", "dev-tools", "docs", "", "security", "all", "so", "1.0"},
}

var markerSpellings = []string{
	"python_version", "python_version", "python_version", "python_full_version", "python_full_version",
	"os_name", "sys_platform", "sys_platform", "platform_system", "platform_machine", "platform_machine",
	"platform_python_implementation", "implementation_name", "implementation_version",
	"platform_release", "platform_version", "extra", "extra", "extra",
	"os.name", "sys.platform", "platform.version", "platform.machine",
	"platform.python_implementation", "python_implementation",
}

var markerOps = []string{"==", "!=", "<", "<=", ">", ">=", "~=", "===", "in", "not in",
	"==", "!=", "<", ">=", "==", "!="}

// markerGen writes random markers from a fixed seed.
type markerGen struct {
	r *rand.Rand
}

func newMarkerGen(seed uint64) *markerGen {
	return &markerGen{r: rand.New(rand.NewPCG(seed, 0x508))}
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// ws returns PEP 508 whitespace, often none.
func (g *markerGen) ws() string {
	return pick(g.r, []string{"", " ", " ", " ", "  ", "\t", " \t"})
}

// sp is whitespace where at least one character keeps tokens apart in
// the text's appearance; the grammar does not need it.
func (g *markerGen) sp() string {
	if g.r.IntN(8) == 0 {
		return ""
	}
	return pick(g.r, []string{" ", " ", " ", "  ", "\t"})
}

func (g *markerGen) quote(s string) string {
	q := pick(g.r, []string{`"`, `"`, `'`})
	return q + s + q
}

func (g *markerGen) leaf() string {
	spelled := pick(g.r, markerSpellings)
	name := spelled
	for _, v := range variables {
		if v.spelled == spelled {
			name = v.name
		}
	}
	pool := markerValues[name]
	if g.r.IntN(10) == 0 {
		pool = markerValues[pick(g.r, markerSpellings[:17])]
	}
	val := pick(g.r, pool)
	op := pick(g.r, markerOps)
	switch n := g.r.IntN(100); {
	case n < 85:
		return spelled + g.ws() + op + g.ws() + g.quote(val)
	case n < 96:
		return g.quote(val) + g.ws() + op + g.ws() + spelled
	case n < 98:
		return spelled + g.sp() + op + g.sp() + pick(g.r, markerSpellings)
	default:
		// Two literals: packaging looks the right one up as a variable.
		rhs := pick(g.r, []string{"os_name", "python_version", "extra", "nope"})
		return g.quote(val) + g.ws() + op + g.ws() + g.quote(rhs)
	}
}

// expr returns a marker of at most depth levels of "and"/"or" and whether
// it is compound at its top.
func (g *markerGen) expr(depth int) (text string, compound bool) {
	if depth == 0 || g.r.IntN(10) < 4 {
		return g.leaf(), false
	}
	kw := pick(g.r, []string{"and", "or"})
	n := 2 + g.r.IntN(3)
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(g.sp() + kw + g.sp())
		}
		child, comp := g.expr(depth - 1)
		if (comp && g.r.IntN(3) > 0) || g.r.IntN(10) == 0 {
			child = "(" + g.ws() + child + g.ws() + ")"
			if g.r.IntN(15) == 0 {
				child = "(" + child + ")"
			}
		}
		b.WriteString(child)
	}
	return b.String(), true
}

// generatedMarkers returns n markers.
func generatedMarkers(seed uint64, n int) []string {
	g := newMarkerGen(seed)
	var markers []string
	for range n {
		m, _ := g.expr(3)
		if g.r.IntN(6) == 0 {
			m = g.ws() + m + g.ws()
		}
		markers = append(markers, m)
	}
	return markers
}

// readLines returns the non-blank lines of a testdata file that do not
// start with "#".
func readLines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if s := strings.TrimSpace(line); s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func realMarkers(t testing.TB) []string {
	return readLines(t, filepath.Join("..", "..", "testdata", "pep508", "markers.txt"))
}

func realRequirements(t testing.TB) []string {
	return readLines(t, filepath.Join("..", "..", "testdata", "pep508", "requirements.txt"))
}

// edxRequirements returns the requirement lines of the edx-platform
// requirement files, with comments and pip option lines removed.
func edxRequirements(t testing.TB) []string {
	root := filepath.Join("..", "..", "..", "shared", "testdata", "edx-platform", "requirements")
	if _, err := os.Stat(root); err != nil {
		t.Logf("edx-platform requirements not found at %s; using the other seeds only", root)
		return nil
	}
	comment := regexp.MustCompile(`(^|\s)#.*$`)
	seen := map[string]bool{}
	var out []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(comment.ReplaceAllString(line, ""))
			if line == "" || strings.HasPrefix(line, "-") || seen[line] {
				continue
			}
			seen[line] = true
			out = append(out, line)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var (
	reqNames  = []string{"requests", "Django", "django-storages", "zope.interface", "ruamel.yaml", "typing_extensions", "A", "x1", "Foo__Bar..baz", "pyobjc-framework-Cocoa", "backports.zoneinfo", "edx-drf-extensions"}
	reqExtras = []string{"socks", "security", "tests", "Dev_Tools", "all", "s3", "test.unit"}
	reqSpecs  = []string{"==1.0", ">=2.8.1", "<3", "!=2.9.*", "~=1.4", "~=1.4.2", "===1.0", ">1.0a1", "<=2.0.post1", "==1.0+local.7",
		"== 4.2.*", ">= 1.0", "==1!2.0", ">=1.0.dev0", "!=1.5", "<4.0,>=3.2", "==v1.0", "==1.0-1", ">=1.0rc1"}
	reqURLs = []string{"https://example.com/pkg-1.0.tar.gz", "git+https://github.com/org/repo.git@v1.0#egg=pkg",
		"file:///tmp/pkg-1.0-py3-none-any.whl", "https://files.example.org/p/pkg-1.0-py3-none-any.whl#sha256=abc",
		"git+ssh://git@github.com/org/repo.git", "http://[::1]:3141/simple/pkg.whl", "file://localhost/srv/pkg.tar.gz",
		"file:/tmp/x.whl", "./local/pkg", "https:/bad", "HTTPS://EXAMPLE.COM/x.whl", "file:///x?", "http://[1.2.3.4]/x"}
)

// generatedRequirements writes random requirement strings from a fixed
// seed, with markers from a markerGen.
func generatedRequirements(seed uint64, n int, seeds []string) []string {
	g := newMarkerGen(seed)
	var out []string
	for range n {
		var b strings.Builder
		b.WriteString(g.ws())
		if len(seeds) > 0 && g.r.IntN(3) == 0 {
			line := pick(g.r, seeds)
			if i := strings.IndexAny(line, "[=<>!~;@ ("); i > 0 {
				line = line[:i]
			}
			b.WriteString(line)
		} else {
			b.WriteString(pick(g.r, reqNames))
		}
		if g.r.IntN(4) == 0 {
			b.WriteString(g.ws() + "[" + g.ws())
			for i := range g.r.IntN(4) {
				if i > 0 {
					b.WriteString(g.ws() + "," + g.ws())
				}
				b.WriteString(pick(g.r, reqExtras))
			}
			b.WriteString(g.ws() + "]")
		}
		hasURL := g.r.IntN(6) == 0
		if hasURL {
			b.WriteString(g.ws() + "@" + g.ws() + pick(g.r, reqURLs))
		} else if g.r.IntN(5) > 0 {
			var specs []string
			for range 1 + g.r.IntN(3) {
				specs = append(specs, pick(g.r, reqSpecs))
			}
			spec := strings.Join(specs, g.ws()+","+g.ws())
			if g.r.IntN(4) == 0 {
				spec = "(" + g.ws() + spec + g.ws() + ")"
			}
			b.WriteString(g.ws() + spec)
		}
		if g.r.IntN(3) == 0 {
			m, _ := g.expr(2)
			sep := g.ws()
			if hasURL {
				sep = g.sp()
			}
			b.WriteString(sep + ";" + g.ws() + m)
		}
		b.WriteString(g.ws())
		out = append(out, b.String())
	}
	return out
}

// mutate returns variants of the given strings with one character
// inserted, deleted or replaced, to compare how both sides reject (or
// accept) near misses.
func mutate(seed uint64, in []string, n int) []string {
	r := rand.New(rand.NewPCG(seed, 0xbad))
	alphabet := []string{" ", "\t", "(", ")", "[", "]", ",", ";", "@", "=", "<", ">", "!", "~", "'", `"`, "a", "1", ".", "-", "_", "*", "+", "/", ":", "#", "é", "\n", `\`, "t", "n", "o", "i"}
	var out []string
	for range n {
		s := []rune(pick(r, in))
		if len(s) == 0 {
			continue
		}
		i := r.IntN(len(s))
		c := []rune(pick(r, alphabet))
		switch r.IntN(3) {
		case 0:
			s = slices.Concat(s[:i], c, s[i:])
		case 1:
			s = slices.Concat(s[:i], s[i+1:])
		default:
			s = slices.Concat(s[:i], c, s[i+1:])
		}
		out = append(out, string(s))
	}
	return out
}
