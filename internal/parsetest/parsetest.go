// Package parsetest holds the checks that the tests of resolver's
// parsers (wheel filenames, tag sets, targets, versions, requirements)
// share: a parser refuses bad input with an error that quotes the input, so
// that whoever reads it knows which filename, tag or line was wrong, and
// what it prints of a value it accepted parses back to that value.
package parsetest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// Refused reports whether err refuses input, and fails t when it does
// without quoting input as strconv.Quote writes it. A fuzz target calls
// it on what it parsed and returns when it reports true.
func Refused(t testing.TB, input string, err error) bool {
	t.Helper()
	if err == nil {
		return false
	}
	if !strings.Contains(err.Error(), strconv.Quote(input)) {
		t.Fatalf("error %q does not quote the input", err)
	}
	return true
}

// Must parses s with parse, and fails t at once when parse refuses it:
// for the inputs a test knows to be valid.
func Must[T any](t testing.TB, parse func(string) (T, error), s string) T {
	t.Helper()
	v, err := parse(s)
	if err != nil {
		t.Fatalf("parsing %q: %v", s, err)
	}
	return v
}

// Reparse parses the String() of v, which parse (named fn in messages)
// gave for input, and fails t unless that gives a value that prints the
// same and that same (when not nil) accepts. It returns that value.
func Reparse[T fmt.Stringer](t testing.TB, fn, input string, v T, parse func(string) (T, error), same func(a, b T) bool) T {
	t.Helper()
	str := v.String()
	again, err := parse(str)
	if err != nil {
		t.Fatalf("%s(%q).String() = %q does not parse: %v", fn, input, str, err)
	}
	if again.String() != str || same != nil && !same(v, again) {
		t.Fatalf("%s(%q).String() = %q parses back as %q", fn, input, str, again)
	}
	return again
}

// Refusals are inputs a parser must refuse, each with a part of the error
// it must give: {input, why}.
type Refusals [][2]string

// Refuses checks that parse (named name in messages) refuses each input
// with an error that holds the input and says why.
func Refuses[T any](t testing.TB, name string, parse func(string) (T, error), cases Refusals) {
	t.Helper()
	for _, c := range cases {
		in, why := c[0], c[1]
		_, err := parse(in)
		if err == nil || !strings.Contains(err.Error(), why) || !strings.Contains(err.Error(), in) {
			t.Errorf("%s(%q) error = %v, want it to quote the input and say %q", name, in, err, why)
		}
	}
}
