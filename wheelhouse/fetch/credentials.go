package fetch

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/larder-build/larder/resolver/gitsrc"
	"github.com/larder-build/larder/resolver/simple"
)

// WithIndexCredentials gives the user and password of the index URLs
// that carry one (https://user:token@host/simple/) to the files of their
// origin (scheme, host and port). A lock records no credentials (larder
// lock leaves them out, so that a lock can be committed): a file of a
// private index is asked for with its index's credentials, given here
// from the configuration, as pip gives an index's to its files' host.
// URLs without user information are skipped.
func WithIndexCredentials(indexURLs ...string) Option {
	return func(o *options) error {
		for _, s := range indexURLs {
			u, err := url.Parse(s)
			if err != nil {
				// url.Parse's error repeats the URL, token and all.
				return fmt.Errorf("index URL %q: not a URL", simple.RedactURL(s))
			}
			if u.User == nil {
				continue
			}
			org := simple.Origin(u)
			if org == "" {
				return fmt.Errorf("index URL %q: want http:// or https:// with a host", simple.RedactURL(s))
			}
			if o.credentials == nil {
				o.credentials = map[string]*url.Userinfo{}
			}
			if _, ok := o.credentials[org]; !ok { // the first index's wins
				o.credentials[org] = u.User
			}
		}
		return nil
	}
}

// authorize gives req the credentials of its origin's index, unless its
// URL carries its own (a lock written before they were left out).
func (o *options) authorize(req *http.Request) {
	if req.URL.User != nil || len(o.credentials) == 0 {
		return
	}
	if ui := o.credentials[simple.Origin(req.URL)]; ui != nil {
		pass, _ := ui.Password()
		req.SetBasicAuth(ui.Username(), pass)
	}
}

// authorizeRedirects returns c with a redirect policy that gives each
// hop the credentials of its own origin and no other's: Go's client
// keeps a request's Authorization on a redirect to the same host name
// whatever the scheme or port, so an https index redirecting to
// http://itself (or to another port) would receive its token in clear.
func (o *options) authorizeRedirects(c *http.Client) *http.Client {
	out := *c
	prev := c.CheckRedirect
	out.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		req.Header.Del("Authorization")
		o.authorize(req)
		if prev != nil {
			return prev(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &out
}

// WithGitCredentials gives the git sources' URLs that carry a user and
// token (https://user:TOKEN@host/org/fork.git, as a requirement file or
// a pyproject.toml writes them) to the builds of the lock's git
// packages of the same repository: a lock records a git URL without
// them. A git package no URL here matches is fetched with its recorded
// URL, for which git's own credential helpers and netrc apply. URLs
// without user information are skipped.
func WithGitCredentials(urls ...string) Option {
	return func(o *options) error {
		for _, s := range urls {
			s = strings.TrimPrefix(s, "git+")
			if gitsrc.WithoutCredentials(s) == s {
				continue
			}
			if err := gitsrc.CheckURL(s); err != nil {
				return err
			}
			o.gitURLs = append(o.gitURLs, s)
		}
		return nil
	}
}

// gitURL is the URL a git package recorded as recorded is fetched
// with: the first WithGitCredentials URL of its repository, else its own.
func (o *options) gitURL(recorded string) string {
	for _, s := range o.gitURLs {
		if gitsrc.SameRepository(s, recorded) {
			return s
		}
	}
	return recorded
}
