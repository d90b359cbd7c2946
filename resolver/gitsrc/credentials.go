package gitsrc

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/larder-build/larder/resolver/simple"
)

// WithoutCredentials is a repository URL as a lock, a wheelhouse or a
// message records it: an http(s) URL without its user and password (a
// token: https://user:TOKEN@host/org/fork.git), and any other URL
// without a password (ssh://git@host/... keeps its login, which is no
// secret). A URL that does not parse is returned redacted.
func WithoutCredentials(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return simple.RedactURL(u)
	}
	if p.User == nil {
		return u
	}
	switch strings.ToLower(p.Scheme) {
	case "http", "https":
		p.User = nil
	default:
		if _, ok := p.User.Password(); !ok {
			return u
		}
		p.User = url.User(p.User.Username())
	}
	return p.String()
}

// SameRepository reports whether a and b name one repository once their
// credentials are left out: how a lock's recorded URL finds the URL with
// credentials an input gave for it.
func SameRepository(a, b string) bool {
	return WithoutCredentials(strings.TrimPrefix(a, "git+")) == WithoutCredentials(strings.TrimPrefix(b, "git+"))
}

// Credential helper environment: the user and password of an http(s)
// URL reach git through its environment, never its command line (which
// every user of the machine may read in ps). The helper answers only
// "get", and only for the URL's own scheme, host and port.
const (
	userEnv = "LARDER_GIT_USERNAME"
	passEnv = "LARDER_GIT_PASSWORD"
	helper  = `!f() { test "$1" = get || exit 0; printf 'username=%s\npassword=%s\n' "$` + userEnv + `" "$` + passEnv + `"; }; f`
)

// splitCredentials returns the URL git is given, without credentials,
// and the environment that gives git the credentials u carried: a
// credential helper scoped to u's origin that reads them from the
// environment (and replaces, for that origin, the user's own helpers, as
// a URL's credentials take precedence over them). A URL without
// credentials gets no environment: git's own helpers and netrc apply.
func splitCredentials(u string) (string, []string, error) {
	bare := WithoutCredentials(u)
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		return bare, nil, nil
	}
	scheme := strings.ToLower(p.Scheme)
	if scheme != "http" && scheme != "https" {
		return bare, nil, nil
	}
	user := p.User.Username()
	pass, _ := p.User.Password()
	// The credential protocol is line-based: a decoded newline would
	// add an attribute of the URL's choosing.
	if strings.ContainsAny(user+pass, "\x00\r\n") {
		return "", nil, fmt.Errorf("git URL %q: the user or password holds a control character", bare)
	}
	n := 0
	if s := os.Getenv("GIT_CONFIG_COUNT"); s != "" {
		if n, err = strconv.Atoi(s); err != nil || n < 0 {
			return "", nil, errors.New("GIT_CONFIG_COUNT in the environment is not a count")
		}
	}
	key := "credential." + scheme + "://" + p.Host + ".helper"
	env := []string{
		"GIT_CONFIG_COUNT=" + strconv.Itoa(n+2),
		fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", n, key), fmt.Sprintf("GIT_CONFIG_VALUE_%d=", n),
		fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", n+1, key), fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", n+1, helper),
		userEnv + "=" + user, passEnv + "=" + pass,
	}
	return bare, env, nil
}
