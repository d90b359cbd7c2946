package pypitest

import (
	"cmp"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"
)

// canonicalVersion accepts only PEP 440 versions in their normalized form:
// file names and METADATA carry the version verbatim, and a strict index must
// not publish a file whose name a client normalizes to something else.
var canonicalVersion = regexp.MustCompile(`^(?:([0-9]+)!)?([0-9]+(?:\.[0-9]+)*)(?:(a|b|rc)([0-9]+))?(?:\.post([0-9]+))?(?:\.dev([0-9]+))?(?:\+([a-z0-9]+(?:\.[a-z0-9]+)*))?$`)

// version is a parsed canonical version, enough to order releases.
type version struct {
	epoch   *big.Int
	release []*big.Int
	pre     string // "", "a", "b", "rc"
	preN    *big.Int
	post    *big.Int // nil when absent
	dev     *big.Int // nil when absent
	local   string
}

func parseVersion(s string) (version, error) {
	m := canonicalVersion.FindStringSubmatch(s)
	if m == nil {
		return version{}, fmt.Errorf("invalid or non-canonical version %q", s)
	}
	num := func(t string) *big.Int {
		if t == "" {
			return nil
		}
		n, _ := new(big.Int).SetString(t, 10)
		return n
	}
	v := version{epoch: num(m[1]), pre: m[3], preN: num(m[4]), post: num(m[5]), dev: num(m[6]), local: m[7]}
	if v.epoch == nil {
		v.epoch = new(big.Int)
	}
	for _, p := range strings.Split(m[2], ".") {
		v.release = append(v.release, num(p))
	}
	// Trailing zeros do not change a version's place in the order.
	for len(v.release) > 1 && v.release[len(v.release)-1].Sign() == 0 {
		v.release = v.release[:len(v.release)-1]
	}
	// The canonical form drops a zero epoch; "0!1.0" is not canonical.
	if m[1] != "" && v.epoch.Sign() == 0 {
		return version{}, fmt.Errorf("invalid or non-canonical version %q", s)
	}
	return v, nil
}

// phase ranks the part of a version before its post and dev parts:
// X.devN < X.aN < X.bN < X.rcN < X < X.postN.
func (v version) phase() int {
	switch {
	case v.pre == "" && v.post == nil && v.dev != nil:
		return 0
	case v.pre == "a":
		return 1
	case v.pre == "b":
		return 2
	case v.pre == "rc":
		return 3
	}
	return 4
}

func cmpBig(a, b *big.Int) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return a.Cmp(b)
}

func compareVersions(a, b version) int {
	if c := a.epoch.Cmp(b.epoch); c != 0 {
		return c
	}
	for i := 0; i < max(len(a.release), len(b.release)); i++ {
		x, y := big.NewInt(0), big.NewInt(0)
		if i < len(a.release) {
			x = a.release[i]
		}
		if i < len(b.release) {
			y = b.release[i]
		}
		if c := x.Cmp(y); c != 0 {
			return c
		}
	}
	if c := cmp.Compare(a.phase(), b.phase()); c != 0 {
		return c
	}
	if c := cmpBig(a.preN, b.preN); c != 0 {
		return c
	}
	if c := cmpBig(a.post, b.post); c != 0 {
		return c
	}
	// A dev release sorts before the same version without one.
	switch {
	case a.dev == nil && b.dev != nil:
		return 1
	case a.dev != nil && b.dev == nil:
		return -1
	}
	if c := cmpBig(a.dev, b.dev); c != 0 {
		return c
	}
	return compareLocal(a.local, b.local)
}

// compareLocal orders local labels segment by segment; numeric segments sort
// above alphanumeric ones and compare as numbers.
func compareLocal(a, b string) int {
	if a == "" || b == "" {
		return cmp.Compare(len(a), len(b))
	}
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < min(len(as), len(bs)); i++ {
		x, xerr := new(big.Int).SetString(as[i], 10)
		y, yerr := new(big.Int).SetString(bs[i], 10)
		var c int
		switch {
		case xerr && yerr:
			c = x.Cmp(y)
		case xerr:
			c = 1
		case yerr:
			c = -1
		default:
			c = strings.Compare(as[i], bs[i])
		}
		if c != 0 {
			return c
		}
	}
	return cmp.Compare(len(as), len(bs))
}

// sortedVersions returns the versions of p in ascending PEP 440 order; it
// assumes the spec was validated.
func sortedVersions(p *Project) []string {
	vs := make([]string, 0, len(p.Releases))
	for _, r := range p.Releases {
		vs = append(vs, r.Version)
	}
	slices.SortStableFunc(vs, func(a, b string) int {
		x, errx := parseVersion(a)
		y, erry := parseVersion(b)
		if errx != nil || erry != nil {
			return strings.Compare(a, b)
		}
		return compareVersions(x, y)
	})
	return vs
}
