package resolver

import "math/bits"

// vset is a set of candidate versions of one package, as a bitset over the
// package's candidate list (index 0 is the oldest). Every version a
// resolution can pick is a known candidate, so a finite set is exact and
// makes every set operation a few word operations.
type vset struct {
	n    int
	bits []uint64
}

func emptySet(n int) vset { return vset{n: n, bits: make([]uint64, (n+63)/64)} }

func fullSet(n int) vset {
	s := emptySet(n)
	for i := range s.bits {
		s.bits[i] = ^uint64(0)
	}
	s.trim()
	return s
}

func singleSet(n, i int) vset {
	s := emptySet(n)
	s.add(i)
	return s
}

// trim clears the bits past n so that equality and emptiness are plain
// word comparisons.
func (s vset) trim() {
	if r := s.n % 64; r != 0 && len(s.bits) > 0 {
		s.bits[len(s.bits)-1] &= (uint64(1) << r) - 1
	}
}

func (s vset) add(i int)      { s.bits[i/64] |= 1 << (i % 64) }
func (s vset) has(i int) bool { return i >= 0 && i < s.n && s.bits[i/64]&(1<<(i%64)) != 0 }

func (s vset) isEmpty() bool {
	for _, w := range s.bits {
		if w != 0 {
			return false
		}
	}
	return true
}

func (s vset) count() int {
	c := 0
	for _, w := range s.bits {
		c += bits.OnesCount64(w)
	}
	return c
}

func (s vset) and(t vset) vset {
	r := emptySet(s.n)
	for i := range r.bits {
		r.bits[i] = s.bits[i] & t.bits[i]
	}
	return r
}

func (s vset) or(t vset) vset {
	r := emptySet(s.n)
	for i := range r.bits {
		r.bits[i] = s.bits[i] | t.bits[i]
	}
	return r
}

func (s vset) not() vset {
	r := emptySet(s.n)
	for i := range r.bits {
		r.bits[i] = ^s.bits[i]
	}
	r.trim()
	return r
}

// members returns the indexes in the set, ascending.
func (s vset) members() []int {
	var out []int
	for i := range s.n {
		if s.has(i) {
			out = append(out, i)
		}
	}
	return out
}
