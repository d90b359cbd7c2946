package edxindex

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/larder-build/larder/internal/pypitest"
)

const (
	manylinuxX86   = "manylinux_2_17_x86_64.manylinux2014_x86_64"
	manylinuxArm   = "manylinux_2_17_aarch64.manylinux2014_aarch64"
	musllinuxX86   = "musllinux_1_2_x86_64"
	musllinuxArm   = "musllinux_1_2_aarch64"
	windowsAMD64   = "win_amd64"
	macosARM64     = "macosx_11_0_arm64"
	installPython  = "cp311"
	installPlatTag = manylinuxX86
)

// file is one distribution of a release with its raw (unscaled) size.
type file struct {
	tags  string // "" for the sdist
	raw   float64
	wheel bool
}

// files lists the distributions of one release of p. factor scales the
// project's install size for older and newer releases.
func (g *generator) files(p *project, ver string, factor float64, isPin bool) []file {
	base := p.size * factor
	jitter := func(lo, hi float64, parts ...string) float64 {
		return base * (lo + (hi-lo)*g.unit(append([]string{p.name, ver}, parts...)...))
	}
	var out []file
	switch p.kind {
	case sdistOnly:
		return []file{{raw: base}}
	case platform:
		plats := []string{manylinuxX86, manylinuxArm}
		// Only the pin carries the musl and desktop wheels: no install
		// needs them from another release, and they would multiply the
		// index size for nothing.
		if muslProjects[p.name] && isPin {
			plats = append(plats, musllinuxX86, musllinuxArm)
		}
		if desktopProjects[p.name] && isPin {
			plats = append(plats, windowsAMD64, macosARM64)
		}
		pythons := []string{"cp311-cp311", "cp312-cp312"}
		if abi3Projects[p.name] {
			pythons = []string{"cp39-abi3"}
		}
		for _, py := range pythons {
			for _, plat := range plats {
				size := base
				if py != "cp311-cp311" && py != "cp39-abi3" {
					size = jitter(0.97, 1.06, py)
				}
				switch plat {
				case manylinuxArm:
					size *= 0.9 + 0.15*g.unit(p.name, ver, py, plat)
				case musllinuxX86, musllinuxArm:
					size *= 0.95 + 0.17*g.unit(p.name, ver, py, plat)
				case windowsAMD64:
					size *= 0.7 + 0.2*g.unit(p.name, ver, py, plat)
				case macosARM64:
					size *= 0.75 + 0.2*g.unit(p.name, ver, py, plat)
				}
				out = append(out, file{tags: py + "-" + plat, raw: size, wheel: true})
			}
		}
		if pureFallbackProjects[p.name] {
			out = append(out, file{tags: "py3-none-any", raw: base * 0.4, wheel: true})
		}
		if g.unit(p.name, "platform-sdist") < 0.85 {
			out = append(out, file{raw: jitter(0.3, 1.3, "sdist")})
		}
	default:
		tags := "py3-none-any"
		if py2py3Projects[p.name] {
			tags = "py2.py3-none-any"
		}
		out = append(out, file{tags: tags, raw: base, wheel: true})
		if py2py3Projects[p.name] || g.unit(p.name, "pure-sdist") < 0.15 {
			out = append(out, file{raw: jitter(0.6, 1.2, "sdist")})
		}
	}
	return out
}

// installFile reports whether f is the one a linux/amd64 CPython 3.11
// glibc install picks among fs.
func installFile(fs []file, f file) bool {
	best := -1
	for i, c := range fs {
		if r := installRank(c); r > 0 && (best < 0 || r > installRank(fs[best])) {
			best = i
		}
	}
	return best >= 0 && fs[best] == f
}

func installRank(f file) int {
	switch {
	case !f.wheel:
		return 1
	case f.tags == installPython+"-"+installPython+"-"+installPlatTag:
		return 5
	case f.tags == "cp39-abi3-"+installPlatTag:
		return 4
	case strings.HasSuffix(f.tags, "-none-any"):
		return 3
	}
	return 0
}

func (g *generator) scaled(raw, norm float64) int {
	return max(minFileSize, int(math.Round(raw*norm*g.opts.Scale)))
}

// assemble turns the plans into the Index and the Workload.
func (g *generator) assemble() (*pypitest.Index, *Workload) {
	var rawInstall float64
	for _, n := range g.names {
		rawInstall += g.projects[n].size
	}
	norm := targetSize / rawInstall

	w := &Workload{
		Pins:   map[string]string{},
		Roots:  slices.Clone(g.roots),
		Edges:  map[string][]string{},
		Decoys: map[string][]Decoy{},
	}
	for _, c := range g.cons {
		w.Constraints = append(w.Constraints, c.text)
	}
	idx := &pypitest.Index{}
	for _, n := range g.names {
		p := g.projects[n]
		w.Pins[n] = p.pinText
		if len(p.children) > 0 {
			w.Edges[n] = slices.Clone(p.children)
		}
		if p.kind != pure {
			w.Compiled = append(w.Compiled, n)
		}
		proj := pypitest.Project{Name: p.display}
		pinTime := CompiledAt.Add(-time.Duration(5+g.pick(600, n, "pin-age")) * 24 * time.Hour).
			Add(-time.Duration(g.pick(86400, n, "pin-second")) * time.Second)

		t := pinTime
		older := make([]pypitest.Release, len(p.older))
		for i := len(p.older) - 1; i >= 0; i-- {
			o := p.older[i]
			t = t.Add(-time.Duration(20+g.pick(300, n, o.String(), "age")) * 24 * time.Hour)
			rp := requiresPythons[g.pick(len(requiresPythons), n, o.String(), "requires-python")]
			if p.requiresPython == py2RequiresPython {
				rp = py2RequiresPython
			}
			steps := float64(len(p.older) - i)
			older[i] = g.release(p, releasePlan{version: o.String(), requiresPython: rp, requires: p.base, at: t, factor: math.Pow(0.96, steps)}, norm, w)
		}
		proj.Releases = append(proj.Releases, older...)
		proj.Releases = append(proj.Releases, g.release(p, releasePlan{version: p.pinText, requiresPython: p.requiresPython, requires: p.base, at: pinTime, factor: 1, isPin: true}, norm, w))
		t = CompiledAt
		for i, d := range p.decoys {
			t = t.Add(time.Duration(1+g.pick(40, n, d.v.String(), "age"))*24*time.Hour + time.Duration(g.pick(86400, n, d.v.String(), "second"))*time.Second)
			rp := p.requiresPython
			if d.requiresPython != "" {
				rp = d.requiresPython
			}
			reqs := p.base
			if d.line != "" {
				reqs = nil
				for j, c := range p.children {
					if c != d.replace {
						reqs = append(reqs, p.base[j])
					}
				}
				reqs = append(reqs, p.base[len(p.children):]...)
				reqs = append(reqs, d.line)
			}
			proj.Releases = append(proj.Releases, g.release(p, releasePlan{version: d.v.String(), requiresPython: rp, requires: reqs, yanked: d.yanked, at: t, factor: math.Pow(1.02, float64(i+1))}, norm, w))
			w.Decoys[n] = append(w.Decoys[n], Decoy{Version: d.v.String(), Reason: d.reason, Detail: d.detail})
		}
		idx.Projects = append(idx.Projects, proj)
	}
	for _, o := range outsideProjects {
		var wheels []pypitest.Wheel
		for _, tag := range o.tags {
			size := g.scaled(20e3+200e3*g.unit(o.name, tag, "size"), 1)
			wheels = append(wheels, pypitest.Wheel{Tags: tag, Size: size})
			w.TotalSize += int64(size)
		}
		idx.Projects = append(idx.Projects, pypitest.Project{Name: o.name, Releases: []pypitest.Release{{
			Version: o.version, RequiresPython: o.requiresPython, Wheels: wheels,
			UploadTime: CompiledAt.Add(-time.Duration(100+g.pick(900, o.name, "age")) * 24 * time.Hour),
		}}})
	}
	sort.SliceStable(idx.Projects, func(i, j int) bool {
		return normalize(idx.Projects[i].Name) < normalize(idx.Projects[j].Name)
	})
	sort.Strings(w.Compiled)
	for _, r := range g.roots {
		p := g.projects[r]
		line := p.display
		if len(p.extras) > 0 {
			line += "[" + strings.Join(p.extras, ",") + "]"
		}
		if p.marker != "" {
			line += " ; " + p.marker
		}
		w.rootLines = append(w.rootLines, line)
	}
	return idx, w
}

// releasePlan is what differs between the releases of one project.
type releasePlan struct {
	version, requiresPython string
	requires                []string
	yanked                  string
	at                      time.Time
	factor                  float64 // size relative to the pin
	isPin                   bool
}

// release builds one Release of p and adds its file sizes to w.
func (g *generator) release(p *project, rp releasePlan, norm float64, w *Workload) pypitest.Release {
	fs := g.files(p, rp.version, rp.factor, rp.isPin)
	r := pypitest.Release{
		Version:        rp.version,
		RequiresPython: rp.requiresPython,
		Requires:       slices.Clone(rp.requires),
		Extras:         slices.Clone(p.provides),
		Yanked:         rp.yanked,
		UploadTime:     rp.at.UTC(),
	}
	for _, f := range fs {
		size := g.scaled(f.raw, norm)
		w.TotalSize += int64(size)
		if rp.isPin && installFile(fs, f) {
			w.InstallSize += int64(size)
		}
		if f.wheel {
			r.Wheels = append(r.Wheels, pypitest.Wheel{Tags: f.tags, Size: size})
		} else {
			r.Sdist = true
			r.SdistSize = size
		}
	}
	return r
}

// checkPinsSolve verifies, with this package's own PEP 440 and 508 code, that the
// pins form a solution, so that an input breaking it is an error rather
// than a silently wrong workload; the tests verify the whole invariant
// again from the Index alone.
func (g *generator) checkPinsSolve() error {
	envs := []environment{linuxEnv(11, "x86_64"), linuxEnv(12, "x86_64"), linuxEnv(11, "aarch64"), linuxEnv(12, "aarch64")}
	for _, n := range g.names {
		p := g.projects[n]
		for _, e := range envs {
			for _, child := range p.children {
				spec := p.specs[child]
				cs, err := parseSpecifier(spec.spec)
				if err != nil {
					return fmt.Errorf("checking %s -> %s: %w", n, child, err)
				}
				if !contains(cs, g.projects[child].pin) {
					return fmt.Errorf("checking %s -> %s: %q excludes the pin %s", n, child, spec.spec, g.projects[child].pinText)
				}
				ok, err := markerHolds(spec.marker, e, "")
				if err != nil || !ok {
					return fmt.Errorf("checking %s -> %s: marker %q does not hold on Linux", n, child, spec.marker)
				}
			}
		}
		if !g.allowedByConstraints(n, p.pin) {
			return fmt.Errorf("checking %s: the pin %s breaks the constraints", n, p.pinText)
		}
	}
	return nil
}
