package edxindex

import (
	"bufio"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/larder-build/larder/resolver/dist"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/resolver/pep508"
)

// testdata returns the folder of the edx-platform testdata.
func testdata(t *testing.T) string {
	t.Helper()
	dir, err := testdataDir()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// baseFacts reads the pins and `-r` roots of the testdata base.txt with a
// regular expression, independently of parseCompiled.
func baseFacts(t *testing.T) (pins map[string]string, roots []string) {
	t.Helper()
	f, err := os.Open(filepath.Join(testdata(t), "requirements", "edx", "base.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pinRE := regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^ ;]+)`)
	pins = map[string]string{}
	var cur string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if m := pinRE.FindStringSubmatch(line); m != nil {
			cur = dist.NormalizeName(m[1])
			pins[cur] = m[3]
			continue
		}
		if strings.Contains(line, "-r requirements/edx/") && !slices.Contains(roots, cur) {
			roots = append(roots, cur)
		}
	}
	sort.Strings(roots)
	return pins, roots
}

func TestWorkloadMatchesBaseTxt(t *testing.T) {
	_, w := generated(t)
	pins, roots := baseFacts(t)
	if len(pins) != 302 {
		t.Fatalf("base.txt has %d pins, want 302", len(pins))
	}
	if !reflect.DeepEqual(w.Pins, pins) {
		t.Errorf("Pins differ from base.txt")
	}
	if !slices.Equal(w.Roots, roots) {
		t.Errorf("Roots = %v\nwant %v", w.Roots, roots)
	}
	for _, c := range w.Constraints {
		if strings.HasPrefix(c, "-") || strings.Contains(c, "#") {
			t.Errorf("constraint line %q is not a requirement", c)
		}
	}
	for _, want := range []string{"Django<6.0", "numpy<2.0.0", "edx-enterprise==6.6.3", "celery>=5.2.2,!=5.6.1,<6.0.0"} {
		if !slices.Contains(w.Constraints, want) {
			t.Errorf("Constraints lack %q", want)
		}
	}
	if len(w.Compiled) != len(compiledProjects) {
		t.Errorf("Compiled has %d projects, want all %d of the list", len(w.Compiled), len(compiledProjects))
	}
	edges := 0
	for parent, children := range w.Edges {
		edges += len(children)
		for _, c := range children {
			if _, ok := pins[c]; !ok {
				t.Errorf("edge %s -> %s: child not pinned", parent, c)
			}
		}
	}
	// Spot checks against the file: "lxml-html-clean  # via lxml" and
	// "celery  # via ... django-celery-results".
	for _, e := range [][2]string{{"lxml", "lxml-html-clean"}, {"django-celery-results", "celery"}, {"edx-enterprise", "django-simple-history"}} {
		if !slices.Contains(w.Edges[e[0]], e[1]) {
			t.Errorf("no edge %s -> %s", e[0], e[1])
		}
	}
	t.Logf("%d pins, %d roots, %d edges, %d constraints", len(w.Pins), len(w.Roots), edges, len(w.Constraints))
}

func TestRootsKeepTheirExtrasAndMarkers(t *testing.T) {
	_, w := generated(t)
	for _, want := range []string{"XBlock[django]", "lxml[html-clean]", `python3-openid ; python_version >= "3"`} {
		if !slices.Contains(w.rootLines, want) {
			t.Errorf("roots lack %q", want)
		}
	}
}

func TestRootsFileListsTheRootsAndConstraints(t *testing.T) {
	_, w := generated(t)
	dir := t.TempDir()
	path, err := w.RootsFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	sawConstraint := false
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case line == "-c constraints.txt":
			sawConstraint = true
		default:
			req, err := pep508.ParseRequirement(line)
			if err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			if len(req.Specifiers) > 0 {
				t.Errorf("root %q is pinned", line)
			}
			names = append(names, req.NormalizedName())
		}
	}
	if !sawConstraint {
		t.Error("no -c constraints.txt line")
	}
	sort.Strings(names)
	if !slices.Equal(names, w.Roots) {
		t.Errorf("roots file names %v\nwant %v", names, w.Roots)
	}
	cons, err := os.ReadFile(filepath.Join(dir, "constraints.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range w.Constraints {
		if !strings.Contains(string(cons), c+"\n") {
			t.Errorf("constraints.txt lacks %q", c)
		}
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, wa, err := Generate(Options{Scale: testScale, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	b, wb, err := Generate(Options{Scale: testScale, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(wa, wb) {
		t.Error("same options gave different results")
	}
	c, _, err := Generate(Options{Scale: testScale, Seed: 6})
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(a, c) {
		t.Error("another seed gave the same index")
	}
}

func TestGenerateRejectsBadOptions(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("foo>=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	orphan := filepath.Join(dir, "orphan.txt")
	if err := os.WriteFile(orphan, []byte("foo==1.0\n    # via bar\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cycle := filepath.Join(dir, "cycle.txt")
	if err := os.WriteFile(cycle, []byte("root==1\n    # via -r x.in\na==1\n    # via b\nb==1\n    # via a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"pins unreachable from the roots", Options{BaseTxt: cycle}, `"a" is not reachable`},
		{"negative scale", Options{Scale: -1}, "bad scale"},
		{"missing base", Options{BaseTxt: filepath.Join(dir, "nope.txt")}, "nope.txt"},
		{"missing constraints", Options{ConstraintsTxt: filepath.Join(dir, "nope.txt")}, "nope.txt"},
		{"unpinned line", Options{BaseTxt: bad}, `"foo>=1"`},
		{"via names an unpinned project", Options{BaseTxt: orphan}, `"bar" is not pinned`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Generate(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %s", err, tt.want)
			}
		})
	}
}

func TestGenerateRejectsPinsThatBreakTheConstraints(t *testing.T) {
	dir := t.TempDir()
	cons := filepath.Join(dir, "constraints.txt")
	if err := os.WriteFile(cons, []byte("Django<5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Generate(Options{ConstraintsTxt: cons, Scale: testScale}); err == nil || !strings.Contains(err.Error(), "constraints") {
		t.Errorf("err = %v, want a constraints error", err)
	}
}

// platformTags are the wheels every compiled project has for each Python.
var platformTags = []string{
	"manylinux_2_17_x86_64.manylinux2014_x86_64",
	"manylinux_2_17_aarch64.manylinux2014_aarch64",
}

func TestCompiledProjectsHaveTheirPlatformWheels(t *testing.T) {
	idx, w := generated(t)
	v := newView(t, idx, w)
	musl := 0
	for _, name := range w.Compiled {
		pin := v.pin(name)
		tags := map[string]bool{}
		for _, wh := range pin.spec.Wheels {
			tags[wh.Tags] = true
		}
		switch {
		case name == "mysqlclient":
			if len(pin.spec.Wheels) != 0 || !pin.spec.Sdist {
				t.Errorf("mysqlclient: want an sdist only, got %v sdist=%v", pin.spec.Wheels, pin.spec.Sdist)
			}
			continue
		case abi3Projects[name]:
			for _, plat := range platformTags {
				if !tags["cp39-abi3-"+plat] {
					t.Errorf("%s: no cp39-abi3 wheel for %s", name, plat)
				}
			}
		default:
			for _, py := range []string{"cp311-cp311-", "cp312-cp312-"} {
				for _, plat := range platformTags {
					if !tags[py+plat] {
						t.Errorf("%s: no %s%s wheel", name, py, plat)
					}
				}
			}
		}
		if tags["cp311-cp311-musllinux_1_2_x86_64"] || tags["cp39-abi3-musllinux_1_2_x86_64"] {
			musl++
		}
	}
	if musl < len(w.Compiled)/4 || musl > len(w.Compiled)/2 {
		t.Errorf("%d of %d compiled projects have musllinux wheels, want about a third", musl, len(w.Compiled))
	}
	py2 := 0
	for name := range w.Pins {
		if slices.Contains(w.Compiled, name) {
			continue
		}
		pin := v.pin(name)
		if len(pin.spec.Wheels) != 1 || !strings.HasSuffix(pin.spec.Wheels[0].Tags, "-none-any") {
			t.Errorf("%s: pure project with wheels %v", name, pin.spec.Wheels)
		}
		if pin.spec.Wheels[0].Tags == "py2.py3-none-any" {
			py2++
		}
	}
	if py2 == 0 {
		t.Error("no py2.py3-none-any wheel")
	}
}

// installBytes sums the file each pin would install on linux/amd64 cp311,
// choosing by tag text alone.
func installBytes(t *testing.T, idx *pypitest.Index, w *Workload) (install, total int64, sizes map[string]int) {
	t.Helper()
	v := newView(t, idx, w)
	sizes = map[string]int{}
	rank := func(tags string) int {
		switch {
		case tags == "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64":
			return 3
		case tags == "cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64":
			return 2
		case strings.HasSuffix(tags, "-none-any"):
			return 1
		}
		return 0
	}
	for name := range w.Pins {
		pin := v.pin(name)
		best, size := 0, 0
		for _, wh := range pin.spec.Wheels {
			if r := rank(wh.Tags); r > best {
				best, size = r, wh.Size
			}
		}
		if best == 0 {
			if !pin.spec.Sdist {
				t.Fatalf("%s: nothing installable on linux/amd64 cp311", name)
			}
			size = pin.spec.SdistSize
		}
		sizes[name] = size
		install += int64(size)
	}
	for _, p := range idx.Projects {
		for _, r := range p.Releases {
			for _, wh := range r.Wheels {
				total += int64(wh.Size)
			}
			total += int64(r.SdistSize)
		}
	}
	return install, total, sizes
}

func TestInstallSizeAtScaleOneIsAbout300MB(t *testing.T) {
	idx, w, err := Generate(Options{Scale: 1})
	if err != nil {
		t.Fatal(err)
	}
	install, total, sizes := installBytes(t, idx, w)
	if install < 250e6 || install > 350e6 {
		t.Errorf("install size %d, want 250-350 MB", install)
	}
	if install != w.InstallSize || total != w.TotalSize {
		t.Errorf("Workload says install %d total %d, the spec %d and %d", w.InstallSize, w.TotalSize, install, total)
	}
	var big, small []string
	for name, s := range sizes {
		if s > 10e6 {
			big = append(big, name)
		}
		if s < 500e3 {
			small = append(small, name)
		}
	}
	sort.Strings(big)
	if len(big) < 3 || len(big) > 10 || !slices.Contains(big, "numpy") || !slices.Contains(big, "scipy") {
		t.Errorf("projects over 10 MB: %v", big)
	}
	if len(small) < len(sizes)*3/4 {
		t.Errorf("only %d of %d projects under 500 KB", len(small), len(sizes))
	}
	t.Logf("install %.1f MB, all files %.2f GB, over 10 MB: %v", float64(install)/1e6, float64(total)/1e9, big)
}

func TestScaleMultipliesSizesWithAFloor(t *testing.T) {
	full, wf, err := Generate(Options{Scale: 1})
	if err != nil {
		t.Fatal(err)
	}
	tiny, wt, err := Generate(Options{Scale: 0.0001})
	if err != nil {
		t.Fatal(err)
	}
	_, _, fs := installBytes(t, full, wf)
	_, _, ts := installBytes(t, tiny, wt)
	for name, f := range fs {
		want := max(minFileSize, int(float64(f)*0.0001+0.5))
		if d := ts[name] - want; d < -1 || d > 1 {
			t.Errorf("%s: %d bytes at scale 1e-4, want %d", name, ts[name], want)
		}
	}
}

func TestOutsideProjectsAreInTheIndexButNotTheClosure(t *testing.T) {
	idx, w := generated(t)
	v := newView(t, idx, w)
	for _, o := range outsideProjects {
		name := dist.NormalizeName(o.name)
		if _, ok := v.projects[name]; !ok {
			t.Errorf("%s: not in the index", name)
		}
		if _, ok := w.Pins[name]; ok {
			t.Errorf("%s: pinned", name)
		}
	}
	if got, want := len(idx.Projects), len(w.Pins)+len(outsideProjects); got != want {
		t.Errorf("%d projects, want %d", got, want)
	}
}

func TestIndexPassesTheFakePyPIValidation(t *testing.T) {
	idx, _ := generated(t)
	if err := idx.Validate(); err != nil {
		t.Fatal(err)
	}
}
