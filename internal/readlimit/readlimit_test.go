package readlimit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadAllKeepsUpToTheLimitAndRefusesMore(t *testing.T) {
	broken := errors.New("disk on fire")
	for _, tc := range []struct {
		name    string
		r       io.Reader
		limit   int64
		want    string
		wantErr error // nil, broken, or a *TooLargeError (matched by errors.As)
	}{
		{"empty input", strings.NewReader(""), 4, "", nil},
		{"empty input with a zero limit", strings.NewReader(""), 0, "", nil},
		{"under the limit", strings.NewReader("abc"), 4, "abc", nil},
		{"exactly at the limit", strings.NewReader("abcd"), 4, "abcd", nil},
		{"one byte over", strings.NewReader("abcde"), 4, "", &TooLargeError{Max: 4}},
		{"far over, read one byte at a time", iotest.OneByteReader(strings.NewReader(strings.Repeat("x", 1000))), 10, "", &TooLargeError{Max: 10}},
		{"one byte with a zero limit", strings.NewReader("a"), 0, "", &TooLargeError{Max: 0}},
		{"a negative limit is zero", strings.NewReader("a"), -5, "", &TooLargeError{Max: 0}},
		{"the largest limit", strings.NewReader("abc"), 1<<63 - 1, "abc", nil},
		{"a reader that errors", iotest.ErrReader(broken), 4, "", broken},
		{"a reader that errors after some bytes", io.MultiReader(strings.NewReader("ab"), iotest.ErrReader(broken)), 4, "", broken},
		{"an error past the limit is never read", io.MultiReader(strings.NewReader("abcde"), iotest.ErrReader(broken)), 4, "", &TooLargeError{Max: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadAll(tc.r, tc.limit)
			var tooLarge *TooLargeError
			switch want := tc.wantErr.(type) {
			case nil:
				if err != nil || !bytes.Equal(got, []byte(tc.want)) {
					t.Errorf("ReadAll = %q, %v; want %q", got, err, tc.want)
				}
			case *TooLargeError:
				if !errors.As(err, &tooLarge) || tooLarge.Max != want.Max || got != nil {
					t.Errorf("ReadAll = %q, %v; want no bytes and a TooLargeError of %d", got, err, want.Max)
				}
			default:
				if !errors.Is(err, want) || errors.As(err, &tooLarge) || got != nil {
					t.Errorf("ReadAll = %q, %v; want no bytes and %v", got, err, want)
				}
			}
		})
	}
}

func TestTooLargeErrorNamesTheLimitAndSurvivesWrapping(t *testing.T) {
	_, err := ReadAll(strings.NewReader("too much"), 3)
	wrapped := fmt.Errorf("reading requirements.txt: %w", err)
	if got, want := wrapped.Error(), "reading requirements.txt: larger than 3 bytes"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	var tooLarge *TooLargeError
	if !errors.As(wrapped, &tooLarge) || tooLarge.Max != 3 {
		t.Errorf("errors.As(%v) found %+v, want Max 3", wrapped, tooLarge)
	}
}
