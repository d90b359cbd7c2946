package registrycache

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// roundTripFunc lets the test see whether a request got through.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

var errPassed = errors.New("passed the guard")

// TestPlainHTTPGoesOnlyToLoopbackUnlessAskedFor: go-containerregistry
// falls back to HTTP for RFC 1918 hosts; the guard refuses it before a
// byte is sent, so credentials never cross a network in clear.
func TestPlainHTTPGoesOnlyToLoopbackUnlessAskedFor(t *testing.T) {
	tests := []struct {
		url      string
		insecure bool
		// remote: the registry is not on loopback, and this is where it
		// sent the cache (a redirect, a Link, a token realm).
		remote bool
		passes bool
	}{
		{"http://127.0.0.1:5000/v2/", false, false, true},
		{"http://[::1]:5000/v2/", false, false, true},
		{"http://localhost:5000/v2/", false, false, true},
		{"http://10.1.2.3:5000/v2/", false, false, false},
		{"http://192.168.1.10/v2/", false, false, false},
		{"http://registry.corp.example/v2/", false, false, false},
		{"http://127.0.0.1.evil.example/v2/", false, false, false},
		{"http://10.1.2.3:5000/v2/", true, false, true},
		{"https://registry.corp.example/v2/", false, false, true},
		{"http://127.0.0.1:8080/admin", false, true, false},
		{"http://localhost:6379/", false, true, false},
		{"http://[::1]:2375/containers/json", false, true, false},
		{"https://storage.example/blob", false, true, true},
	}
	for _, tt := range tests {
		g := &plainHTTPGuard{insecure: tt.insecure, loopback: !tt.remote, next: roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, errPassed })}
		req, err := http.NewRequest(http.MethodGet, tt.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = g.RoundTrip(req)
		if passed := errors.Is(err, errPassed); passed != tt.passes {
			t.Errorf("%s (insecure %v): %v, want passes=%v", tt.url, tt.insecure, err, tt.passes)
		}
		var pe *PlainHTTPError
		if !tt.passes && (!errors.As(err, &pe) || !strings.Contains(err.Error(), req.URL.Host)) {
			t.Errorf("%s: %v, want a PlainHTTPError naming the host", tt.url, err)
		}
	}
}

func TestARegistryIsOnLoopbackByItsHost(t *testing.T) {
	for hostport, want := range map[string]bool{
		"127.0.0.1:5000": true, "localhost:5000": true, "[::1]:5000": true, "[::1]": true, "localhost": true,
		"registry.corp.example": false, "ghcr.io": false, "10.1.2.3:5000": false, "127.0.0.1.evil.example:443": false,
	} {
		if got := isLoopback(hostOf(hostport)); got != want {
			t.Errorf("%s: on loopback %v, want %v", hostport, got, want)
		}
	}
}
