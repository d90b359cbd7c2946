package edxindex

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/larder-build/larder/internal/pypitest"
)

// Options says which compiled requirements to model and how big to make
// the files.
type Options struct {
	// BaseTxt is the pip-compile output to model; "" means the copy of
	// edx-platform's requirements/edx/base.txt under testdata/edxindex.
	BaseTxt string
	// ConstraintsTxt is the constraints file it was compiled with; "" means
	// the copy of requirements/constraints.txt under testdata/edxindex.
	ConstraintsTxt string
	// Scale multiplies every file size: 1 makes a linux/amd64 CPython 3.11
	// install about 300 MB, 0.01 suits unit tests. 0 means 1.
	Scale float64
	// Seed varies specifiers, decoys, markers and sizes; the same Options
	// always give the same Index.
	Seed int64
	// Reasons are the kinds of decoys to make: nil means all four, an
	// empty slice none. Leaving out ReasonConflict gives a workload that
	// pip's resolver (resolvelib 1.0) can resolve; see the package
	// documentation.
	Reasons []Reason
}

// Reason says why a decoy release can never be part of a solution.
type Reason string

// The reasons a decoy is unusable.
const (
	// ReasonRequiresPython: its Requires-Python excludes CPython 3.11 and 3.12.
	ReasonRequiresPython Reason = "requires-python"
	// ReasonMissingVersion: it requires a version of another project that
	// no release in the index provides.
	ReasonMissingVersion Reason = "missing-version"
	// ReasonConflict: it requires a version range of a closure project that
	// another pinned project's requirement excludes, in every usable
	// release of that project.
	ReasonConflict Reason = "conflict"
	// ReasonConstraint: it is fine in itself but the constraints file
	// excludes it; resolving without the constraints would pick it.
	ReasonConstraint Reason = "constraint"
)

var allReasons = []Reason{ReasonRequiresPython, ReasonMissingVersion, ReasonConflict, ReasonConstraint}

// Decoy is a release newer than the pin that a resolver must reject.
type Decoy struct {
	Version string // the decoy's version, above the pin
	Reason  Reason // why no solution contains it
	Detail  string // a human explanation, e.g. which requirement conflicts
}

// CompiledAt is the moment the workload pretends base.txt was compiled:
// every pin was uploaded before it and every decoy after it.
var CompiledAt = time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC)

// Workload is what a test needs to know about a generated index.
type Workload struct {
	// Pins maps each normalized project name of base.txt to its version.
	Pins map[string]string
	// Roots are the normalized names that base.txt says came from a
	// `-r requirements/edx/*.in` file: the top-level requirements.
	Roots []string
	// Constraints are the requirement lines of the constraints file.
	Constraints []string
	// Edges maps a normalized project name to the sorted names whose
	// `# via` lists name it: the dependency graph of base.txt.
	Edges map[string][]string
	// Decoys maps a normalized project name to its decoys, oldest first.
	Decoys map[string][]Decoy
	// Compiled are the pinned projects with extension modules, sorted.
	Compiled []string
	// InstallSize is the total size of the files a linux/amd64 CPython 3.11
	// glibc install of the pins downloads, at the requested Scale.
	InstallSize int64
	// TotalSize is the total size of every file in the index.
	TotalSize int64

	rootLines []string // the roots as requirement lines (extras, markers)
}

// targetSize is the linux/amd64 cp311 install size at Scale 1.
const targetSize = 300e6

// minFileSize keeps scaled-down files big enough to be real archives.
const minFileSize = 512

// Generate builds the fake index and describes it. See the package
// documentation for the invariant it guarantees.
func Generate(opts Options) (*pypitest.Index, *Workload, error) {
	if opts.Scale < 0 || math.IsNaN(opts.Scale) || math.IsInf(opts.Scale, 0) {
		return nil, nil, fmt.Errorf("generating edx index: bad scale %v", opts.Scale)
	}
	if opts.Scale == 0 {
		opts.Scale = 1
	}
	for _, r := range opts.Reasons {
		if !slices.Contains(allReasons, r) {
			return nil, nil, fmt.Errorf("generating edx index: unknown decoy reason %q", r)
		}
	}
	if opts.Reasons == nil {
		opts.Reasons = allReasons
	}
	basePath, consPath := opts.BaseTxt, opts.ConstraintsTxt
	if basePath == "" || consPath == "" {
		dir, err := testdataDir()
		if err != nil {
			return nil, nil, err
		}
		if basePath == "" {
			basePath = filepath.Join(dir, "requirements", "edx", "base.txt")
		}
		if consPath == "" {
			consPath = filepath.Join(dir, "requirements", "constraints.txt")
		}
	}
	baseData, err := os.ReadFile(basePath)
	if err != nil {
		return nil, nil, fmt.Errorf("generating edx index: %w", err)
	}
	consData, err := os.ReadFile(consPath)
	if err != nil {
		return nil, nil, fmt.Errorf("generating edx index: %w", err)
	}
	pins, err := parseCompiled(baseData)
	if err != nil {
		return nil, nil, fmt.Errorf("generating edx index from %q: %w", basePath, err)
	}
	cons, err := parseConstraints(consData)
	if err != nil {
		return nil, nil, fmt.Errorf("generating edx index from %q: %w", consPath, err)
	}
	g, err := newGenerator(pins, cons, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("generating edx index from %q: %w", basePath, err)
	}
	idx, w := g.run()
	if err := g.checkPinsSolve(); err != nil {
		return nil, nil, fmt.Errorf("generating edx index from %q: %w", basePath, err)
	}
	return idx, w, nil
}

// testdataDir finds testdata/edxindex from the working directory up to the
// module root, then next to this source file.
func testdataDir() (string, error) {
	const rel = "testdata/edxindex"
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				if st, err := os.Stat(filepath.Join(dir, rel)); err == nil && st.IsDir() {
					return filepath.Join(dir, rel), nil
				}
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		dir := filepath.Join(filepath.Dir(file), "..", "..", rel)
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			return dir, nil
		}
	}
	return "", errors.New("finding testdata/edxindex: not found above the working directory")
}

// kind is how a project is distributed.
type kind int

const (
	pure kind = iota
	platform
	sdistOnly
)

// project is the plan for one pinned project.
type project struct {
	name    string // normalized
	display string
	pinText string
	pin     version
	extras  []string // pinned extras, normalized
	marker  string   // marker on the pin line
	root    bool

	parents  []string // package parents, sorted
	children []string // sorted

	older  []version // ascending, all below the pin
	decoys []decoyPlan

	requiresPython string
	specs          map[string]edgeSpec // by child
	base           []string            // Requires-Dist lines of the pin
	provides       []string            // Provides-Extra
	kind           kind
	size           float64 // raw size of the install file
}

// edgeSpec is the requirement a parent places on a child.
type edgeSpec struct {
	spec   string
	lower  string // the inclusive lower bound (>= or ~=), "" when none
	marker string
	extra  string // the parent's extra that gates the edge
}

type decoyPlan struct {
	v              version
	reason         Reason
	detail         string
	requiresPython string
	replace        string // child whose line the extra line replaces, or ""
	line           string // the additional Requires-Dist line, or ""
	yanked         string
}

type generator struct {
	opts       Options
	projects   map[string]*project
	names      []string // sorted
	roots      []string
	cons       []constraint
	consByName map[string][][]clause
	requesters map[string]map[string]bool // child -> parents asking for its extras
	intrinsic  []Reason                   // the wanted reasons a decoy carries by itself
}

func newGenerator(pins []pin, cons []constraint, opts Options) (*generator, error) {
	g := &generator{
		opts:       opts,
		projects:   map[string]*project{},
		cons:       cons,
		consByName: map[string][][]clause{},
		requesters: map[string]map[string]bool{},
	}
	for _, p := range pins {
		v, err := parseVersion(p.version)
		if err != nil {
			return nil, fmt.Errorf("reading pin of %q: %w", p.name, err)
		}
		if v.isPre() || v.local != "" {
			return nil, fmt.Errorf("reading pin of %q: pre-release or local version %q not supported", p.name, p.version)
		}
		display := p.spelled
		if d, ok := displayNames[p.name]; ok {
			display = d
		}
		g.projects[p.name] = &project{
			name: p.name, display: display, pinText: p.version, pin: v,
			extras: p.extras, marker: p.marker, specs: map[string]edgeSpec{},
		}
		g.names = append(g.names, p.name)
	}
	sort.Strings(g.names)
	for _, p := range pins {
		pr := g.projects[p.name]
		for _, via := range p.via {
			switch {
			case strings.HasPrefix(via, "-r "):
				pr.root = true
			case strings.HasPrefix(via, "-c "):
			default:
				parent := normalize(via)
				pp, ok := g.projects[parent]
				if !ok {
					return nil, fmt.Errorf("reading via of %q: %q is not pinned", p.name, via)
				}
				if parent == p.name {
					return nil, fmt.Errorf("reading via of %q: depends on itself", p.name)
				}
				if !slices.Contains(pr.parents, parent) {
					pr.parents = append(pr.parents, parent)
					pp.children = append(pp.children, p.name)
				}
			}
		}
	}
	for _, n := range g.names {
		pr := g.projects[n]
		sort.Strings(pr.parents)
		sort.Strings(pr.children)
		if pr.root {
			g.roots = append(g.roots, n)
		}
		if !pr.root && len(pr.parents) == 0 {
			return nil, fmt.Errorf("reading via of %q: nothing requires it", n)
		}
	}
	if len(g.roots) == 0 {
		return nil, errors.New("reading via comments: no `-r` roots")
	}
	// The closure of the roots must be every pin, or the workload's
	// promise of "exactly the pins" would not hold.
	reached := map[string]bool{}
	queue := slices.Clone(g.roots)
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if reached[n] {
			continue
		}
		reached[n] = true
		queue = append(queue, g.projects[n].children...)
	}
	for _, n := range g.names {
		if !reached[n] {
			return nil, fmt.Errorf("reading via comments: %q is not reachable from the roots", n)
		}
	}
	for _, r := range opts.Reasons {
		if r != ReasonConstraint && !slices.Contains(g.intrinsic, r) {
			g.intrinsic = append(g.intrinsic, r)
		}
	}
	// A fixed order, whatever the order of opts.Reasons.
	slices.SortFunc(g.intrinsic, func(a, b Reason) int {
		return slices.Index(allReasons, a) - slices.Index(allReasons, b)
	})
	for _, c := range cons {
		cs, err := parseSpecifier(c.req.spec)
		if err != nil {
			return nil, fmt.Errorf("reading constraint %q: %w", c.text, err)
		}
		g.consByName[c.req.name] = append(g.consByName[c.req.name], cs)
	}
	return g, nil
}

// rnd is a deterministic hash of the seed and parts, so that each choice
// depends only on what it is about: adding a project to base.txt does not
// reshuffle the others.
func (g *generator) rnd(parts ...string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(g.opts.Seed))
	h.Write(b[:])
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	// splitmix64 finalizer: FNV alone leaves low bits poorly mixed.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func (g *generator) unit(parts ...string) float64 {
	return float64(g.rnd(parts...)>>11) / (1 << 53)
}

func (g *generator) pick(n int, parts ...string) int {
	return int(g.rnd(parts...) % uint64(n))
}

func (g *generator) allowedByConstraints(name string, v version) bool {
	for _, cs := range g.consByName[name] {
		if !contains(cs, v) {
			return false
		}
	}
	return true
}

func (g *generator) run() (*pypitest.Index, *Workload) {
	for _, n := range g.names {
		g.planVersions(g.projects[n])
	}
	g.planRequesters()
	for _, n := range g.names {
		g.planSpecs(g.projects[n])
	}
	for _, n := range g.names {
		g.planRequires(g.projects[n])
	}
	for _, n := range g.names {
		g.planDecoyReasons(g.projects[n])
	}
	return g.assemble()
}

// olderCandidates lists versions below v: the base of a post-release, and
// for each non-zero release number, that number decremented.
func (g *generator) olderCandidates(p *project) []version {
	v := p.pin
	var out []version
	if v.post >= 0 {
		out = append(out, v.base())
	}
	for i, n := range v.release {
		if n == 0 {
			continue
		}
		r := append([]int(nil), v.release[:i]...)
		r = append(r, n-1)
		for j := i + 1; j < len(v.release); j++ {
			limit := 10
			if j == i+1 && i == 0 {
				limit = 13
			}
			r = append(r, g.pick(limit, p.name, "older", fmt.Sprint(i, j)))
		}
		out = append(out, version{epoch: v.epoch, release: r, post: -1, dev: -1})
	}
	return out
}

func bump(v version, i int) version {
	r := append([]int(nil), v.release[:i]...)
	r = append(r, v.release[i]+1)
	for j := i + 1; j < len(v.release); j++ {
		r = append(r, 0)
	}
	return version{epoch: v.epoch, release: r, post: -1, dev: -1}
}

func (g *generator) planVersions(p *project) {
	// Older releases: always the lowest candidate (so that lower bounds in
	// specifiers exclude something real), then up to two more.
	cands := g.olderCandidates(p)
	slices.SortFunc(cands, compareVersions)
	if len(cands) > 0 {
		p.older = append(p.older, cands[0])
		want := 1 + g.pick(3, p.name, "nolder")
		if p.bulky() {
			want = 1
		}
		for i, c := range cands[1:] {
			if len(p.older) >= want {
				break
			}
			if g.unit(p.name, "older-keep", fmt.Sprint(i)) < 0.7 {
				p.older = append(p.older, c)
			}
		}
	}
	slices.SortFunc(p.older, compareVersions)
	p.older = slices.CompactFunc(p.older, func(a, b version) bool { return compareVersions(a, b) == 0 })

	// Newer candidates, each above the pin by construction.
	v := p.pin
	last := len(v.release) - 1
	micro := bump(v, last)
	var others []version
	if last >= 2 {
		others = append(others, bump(v, last-1))
	}
	if last >= 1 {
		others = append(others, bump(v, 0))
	}
	post := v.base()
	post.post = max(v.post+1, 1)
	others = append(others, post)
	pre := bump(v, 0)
	pre.preKind = preRC - g.pick(2, p.name, "prekind")
	pre.preNum = 1
	used := map[string]bool{}

	// A constraint that caps the project gets a decoy that only it excludes.
	if _, ok := g.consByName[p.name]; ok && slices.Contains(g.opts.Reasons, ReasonConstraint) {
		for _, c := range []version{bump(v, 0), bump(v, min(1, last)), micro} {
			if !g.allowedByConstraints(p.name, c) && !used[c.String()] {
				used[c.String()] = true
				p.decoys = append(p.decoys, decoyPlan{
					v: c, reason: ReasonConstraint,
					detail: fmt.Sprintf("excluded by the constraints on %s", p.name),
				})
				break
			}
		}
	}
	want := 1 + g.pick(3, p.name, "ndecoys")
	if p.bulky() {
		want = 1
	}
	if len(g.intrinsic) == 0 {
		want = 0
	}
	var intrinsic []version
	if want > 0 && !used[micro.String()] {
		intrinsic = append(intrinsic, micro)
		used[micro.String()] = true
	}
	order := g.perm(len(others), p.name, "decoy-order")
	for _, i := range order {
		if len(intrinsic) >= want {
			break
		}
		c := others[i]
		if used[c.String()] || (c.post >= 0 && g.unit(p.name, "post") < 0.5) {
			continue
		}
		used[c.String()] = true
		intrinsic = append(intrinsic, c)
	}
	// A few pre-releases of the next major, which carry a reason too, so
	// that a resolver considering pre-releases still rejects them.
	if want > 0 && !p.bulky() && g.unit(p.name, "pre") < 0.12 && !used[pre.String()] {
		intrinsic = append(intrinsic, pre)
	}
	slices.SortFunc(intrinsic, compareVersions)
	for _, c := range intrinsic {
		p.decoys = append(p.decoys, decoyPlan{v: c})
	}
	slices.SortFunc(p.decoys, func(a, b decoyPlan) int { return compareVersions(a.v, b.v) })

	p.requiresPython = requiresPythons[g.pick(len(requiresPythons), p.name, "requires-python")]
	switch {
	case sdistOnlyProjects[p.name]:
		p.kind = sdistOnly
	case slices.Contains(compiledProjects, p.name):
		p.kind = platform
	case py2py3Projects[p.name]:
		p.requiresPython = py2RequiresPython
	}
	p.size = installSizes[p.name]
	if p.size == 0 {
		// Log-normal around 45 KB: most pure projects are small, a few are not.
		z := math.Sqrt(-2*math.Log(1-g.unit(p.name, "size1"))) * math.Cos(2*math.Pi*g.unit(p.name, "size2"))
		p.size = math.Min(2.5e6, math.Max(4e3, 45e3*math.Exp(1.2*z)))
	}
}

// perm is a deterministic permutation of 0..n-1.
func (g *generator) perm(n int, parts ...string) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	keys := make([]uint64, n)
	for i := range keys {
		keys[i] = g.rnd(append(parts, fmt.Sprint(i))...)
	}
	sort.SliceStable(out, func(a, b int) bool { return keys[out[a]] < keys[out[b]] })
	return out
}

// planRequesters decides who asks for each pinned extra: a root keeps its
// extras in the roots file, and about half of the package parents (at
// least one when the project is not a root) ask in their Requires-Dist.
func (g *generator) planRequesters() {
	for _, n := range g.names {
		p := g.projects[n]
		if len(p.extras) == 0 {
			continue
		}
		req := map[string]bool{}
		for _, parent := range p.parents {
			if g.unit(n, parent, "asks-extra") < 0.5 {
				req[parent] = true
			}
		}
		if len(req) == 0 && !p.root && len(p.parents) > 0 {
			req[p.parents[g.pick(len(p.parents), n, "asker")]] = true
		}
		g.requesters[n] = req
	}
}

func (g *generator) planSpecs(p *project) {
	for _, child := range p.children {
		c := g.projects[child]
		e := g.specFor(p, c)
		for extra, kids := range extraChildren[p.name] {
			if slices.Contains(p.extras, extra) && slices.Contains(kids, child) {
				e.extra = extra
				e.marker = ""
			}
		}
		p.specs[child] = e
	}
}

func (g *generator) specFor(p, c *project) edgeSpec {
	v := c.pin
	key := []string{p.name, c.name}
	mm := version{epoch: v.epoch, release: v.release[:min(2, len(v.release))], post: -1, dev: -1}
	var lower version
	switch u := g.unit(append(key, "lower")...); {
	case u < 0.5 || len(c.older) == 0:
		lower = mm
	case u < 0.85:
		lower = c.older[g.pick(len(c.older), append(key, "lower-older")...)]
	default:
		lower = v
	}
	major := fmt.Sprint(v.release[0] + 1)
	if g.unit(append(key, "major-form")...) < 0.4 {
		major += ".0"
	}
	var e edgeSpec
	ge := func() string { e.lower = lower.String(); return ">=" + lower.String() }
	switch u := g.unit(append(key, "style")...); {
	case u < 0.15:
	case u < 0.45:
		e.spec = ge()
	case u < 0.62:
		e.spec = ge() + ",<" + major
	case u < 0.72 && len(v.release) >= 2:
		e.lower = mm.String()
		e.spec = "~=" + mm.String()
	case u < 0.80 && len(c.older) > 0:
		o := c.older[g.pick(len(c.older), append(key, "not")...)]
		if compareVersions(o, lower) < 0 {
			e.spec = ge() + ",!=" + o.String()
		} else {
			e.spec = "!=" + o.String() + "," + ge()
		}
	case u < 0.85:
		e.spec = fmt.Sprintf("==%d.*", v.release[0])
	case u < 0.90 && len(v.release) >= 2:
		e.spec = fmt.Sprintf("%s,<%d.%d", ge(), v.release[0], v.release[1]+1)
	case u < 0.95:
		e.spec = "<" + major
	case len(c.older) > 0:
		e.spec = ">" + c.older[0].String()
	default:
		e.spec = ge()
	}
	switch {
	case c.marker != "":
		e.marker = c.marker
	case g.unit(append(key, "marker")...) < 0.08:
		e.marker = trueMarkers[g.pick(len(trueMarkers), append(key, "which-marker")...)]
	}
	return e
}

// line writes a Requires-Dist line for child as p requires it.
func (g *generator) line(p *project, child string, e edgeSpec) string {
	c := g.projects[child]
	var b strings.Builder
	b.WriteString(c.display)
	if len(c.extras) > 0 && g.requesters[child][p.name] {
		b.WriteString("[" + strings.Join(c.extras, ",") + "]")
	}
	if e.spec != "" {
		if g.unit(p.name, child, "parens") < 0.04 {
			b.WriteString(" (" + e.spec + ")")
		} else {
			b.WriteString(e.spec)
		}
	}
	marker := e.marker
	if e.extra != "" {
		marker = fmt.Sprintf(`extra == "%s"`, e.extra)
	}
	if marker != "" {
		b.WriteString("; " + marker)
	}
	return b.String()
}

func (g *generator) planRequires(p *project) {
	for _, child := range p.children {
		p.base = append(p.base, g.line(p, child, p.specs[child]))
	}
	p.provides = append(p.provides, p.extras...)
	if g.unit(p.name, "outside") < 0.10 {
		o := outsideProjects[g.pick(len(outsideProjects), p.name, "which-outside")]
		p.base = append(p.base, o.line)
	}
	if g.unit(p.name, "unrequested") < 0.15 {
		x := unrequestedExtras[g.pick(len(unrequestedExtras), p.name, "which-extra")]
		if !slices.Contains(p.provides, x.extra) {
			p.provides = append(p.provides, x.extra)
		}
		p.base = append(p.base, x.line)
	}
	if p.name == "django" {
		p.provides = append(p.provides, "argon2", "bcrypt")
		p.base = append(p.base, `argon2-cffi>=19.1.0; extra == "argon2"`, `bcrypt; extra == "bcrypt"`)
	}
	sort.Strings(p.provides)
}

// bulky projects get fewer releases, to keep the whole index within a few
// gigabytes at Scale 1.
func (p *project) bulky() bool { return installSizes[p.name] >= 4e6 }

// allVersions lists every release of a project, decoys included.
func (p *project) allVersions() []version {
	out := append([]version(nil), p.older...)
	out = append(out, p.pin)
	for _, d := range p.decoys {
		out = append(out, d.v)
	}
	return out
}

func (g *generator) planDecoyReasons(p *project) {
	start := g.pick(len(allReasons)-1, p.name, "reason-start")
	k := 0
	for i := range p.decoys {
		d := &p.decoys[i]
		if d.reason == ReasonConstraint {
			continue
		}
		reason := g.intrinsic[(start+k)%len(g.intrinsic)]
		if reason == ReasonConflict && !g.conflict(p, d) {
			reason = ReasonMissingVersion
			if !slices.Contains(g.intrinsic, reason) {
				reason = ReasonRequiresPython
			}
		}
		switch reason {
		case ReasonRequiresPython:
			d.reason = ReasonRequiresPython
			d.requiresPython = ">=3.14"
			d.detail = "Requires-Python >=3.14"
		case ReasonMissingVersion:
			g.missing(p, d)
		}
		if g.unit(p.name, d.v.String(), "yanked") < 0.05 {
			d.yanked = "broken release"
			d.detail += "; also yanked"
		}
		if d.v.isPre() {
			d.detail += "; also a pre-release"
		}
		k++
	}
}

// missing makes d require a version of another project that does not
// exist: preferably a bumped floor on one of its own children.
func (g *generator) missing(p *project, d *decoyPlan) {
	d.reason = ReasonMissingVersion
	var plain []string
	for _, c := range p.children {
		if e := p.specs[c]; e.marker == "" && e.extra == "" {
			plain = append(plain, c)
		}
	}
	var target string
	if len(plain) > 0 {
		target = plain[g.pick(len(plain), p.name, d.v.String(), "missing")]
		d.replace = target
	} else {
		others := slices.DeleteFunc(slices.Clone(g.names), func(n string) bool { return n == p.name })
		target = others[g.pick(len(others), p.name, d.v.String(), "missing")]
	}
	t := g.projects[target]
	top := 0
	for _, v := range t.allVersions() {
		top = max(top, v.release[0])
	}
	if g.unit(p.name, d.v.String(), "missing-form") < 0.6 {
		d.line = fmt.Sprintf("%s>=%d", t.display, top+1)
	} else {
		absent := bump(t.pin, len(t.pin.release)-1)
		absent.release[len(absent.release)-1] += 16 + g.pick(20, p.name, d.v.String(), "absent")
		d.line = fmt.Sprintf("%s==%s", t.display, absent)
	}
	d.detail = fmt.Sprintf("requires %s, which no release of %s satisfies", d.line, target)
}

// conflict makes d require an old range of a project Q that a pinned
// sibling S requires at or above a bound. It prefers S among d's own
// children, so that the conflict surfaces right after choosing d.
func (g *generator) conflict(p *project, d *decoyPlan) bool {
	type cand struct{ s, q string }
	var sibling, near, far []cand
	for _, s := range g.names {
		if s == p.name {
			continue
		}
		sp := g.projects[s]
		for _, q := range sp.children {
			e := sp.specs[q]
			if q == p.name || slices.Contains(p.children, q) || e.marker != "" || e.extra != "" || e.lower == "" {
				continue
			}
			lower, _ := parseVersion(e.lower)
			if len(g.projects[q].older) == 0 || compareVersions(g.projects[q].older[0], lower) >= 0 {
				continue
			}
			if slices.Contains(p.parents, s) {
				sibling = append(sibling, cand{s, q})
			} else if slices.Contains(p.children, s) {
				near = append(near, cand{s, q})
			} else {
				far = append(far, cand{s, q})
			}
		}
	}
	cands := sibling
	if len(cands) == 0 {
		cands = near
	}
	if len(cands) == 0 {
		cands = far
	}
	if len(cands) == 0 {
		return false
	}
	c := cands[g.pick(len(cands), p.name, d.v.String(), "conflict")]
	sp, q := g.projects[c.s], g.projects[c.q]
	e := sp.specs[c.q]
	d.reason = ReasonConflict
	d.line = fmt.Sprintf("%s<%s", q.display, e.lower)
	d.detail = fmt.Sprintf("requires %s, but %s %s requires %s%s", d.line, c.s, sp.pinText, c.q, e.spec)
	return true
}
