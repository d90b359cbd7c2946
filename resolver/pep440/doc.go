// Package pep440 parses, normalizes and orders Python package versions and
// evaluates version specifiers, as PEP 440 (the "Version specifiers"
// packaging specification) defines them.
//
// Versions parse into a small comparable value that carries its normalized
// text and a precomputed sort key, so that ordering millions of versions
// costs one byte comparison each and no allocation. Specifiers follow the
// PEP's rules for every operator, including prefix matching, local versions
// and the exclusive ordered comparisons, and pre-releases are handled the way
// pip handles them.
//
// The package is checked against pip's vendored packaging library on a
// sample of real PyPI versions; the few places where it deliberately follows
// the current PEP text rather than that (older) library are recorded in
// deviations_test.go.
package pep440
