package readlimit

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func zipOf(t *testing.T, members int, comment string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := range members {
		if _, err := zw.Create(fmt.Sprintf("m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.SetComment(comment); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestOpenZipCountsTheMembersBeforeArchiveZipReadsThem(t *testing.T) {
	for _, tc := range []struct {
		name    string
		data    []byte
		members int  // want, when opened
		tooMany bool // want a *TooManyMembersError
	}{
		{"as many as the limit", zipOf(t, 10, ""), 10, false},
		{"one more than the limit", zipOf(t, 11, ""), 0, true},
		{"one more, behind a long comment", zipOf(t, 11, string(bytes.Repeat([]byte("c"), 60000))), 0, true},
		{"none", zipOf(t, 0, ""), 0, false},
		{"not a zip", []byte("not a zip archive at all"), 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z, err := OpenZip(bytes.NewReader(tc.data), int64(len(tc.data)), 10)
			var tm *TooManyMembersError
			switch {
			case tc.tooMany:
				if !errors.As(err, &tm) || tm.Max != 10 || z != nil {
					t.Errorf("err %v, want more than 10 members refused", err)
				}
			case tc.name == "not a zip":
				if err == nil || errors.As(err, &tm) {
					t.Errorf("err %v, want archive/zip's refusal", err)
				}
			case err != nil || len(z.File) != tc.members:
				t.Errorf("err %v, want %d members read", err, tc.members)
			}
		})
	}
}
