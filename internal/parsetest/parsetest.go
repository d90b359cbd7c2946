// Package parsetest holds the checks that the tests of resolver's
// parsers (wheel and sdist filenames, tag sets, targets, versions) share:
// a parser refuses bad input with an error that quotes the input, so that
// whoever reads it knows which filename, tag or line was wrong.
package parsetest

import (
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
