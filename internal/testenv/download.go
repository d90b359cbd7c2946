package testenv

import (
	"io"
	"net/http"
	"testing"
)

// Download returns the body of a GET of u, stopping the test unless the
// server answers 200 with all of it: the bytes a real server serves for
// a file.
func Download(tb testing.TB, u string) []byte {
	tb.Helper()
	resp, err := http.Get(u)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: %s", u, resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("GET %s: %v", u, err)
	}
	return b
}
