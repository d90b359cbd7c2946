package fetch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/larder-build/larder/internal/netrc"
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
//
// When indexes of one origin have different credentials, a file gets
// those of the index its package was locked from (pylock's index), else
// those of the index whose URL (less a last "simple" segment) is the
// longest prefix of the file's, else the first given.
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
			prefix := strings.TrimSuffix(u.EscapedPath(), "/")
			if base, last := path.Split(prefix); last == "simple" {
				prefix = strings.TrimSuffix(base, "/")
			}
			o.credentials = append(o.credentials, indexCredential{
				index: sameIndexKey(s), origin: org, prefix: prefix + "/", user: u.User})
		}
		return nil
	}
}

// WithNetrc gives the credentials of a netrc file (curl's, git's and
// pip's ~/.netrc) to the files of its machines, for an origin no index
// credentials were given for.
func WithNetrc(f *netrc.File) Option {
	return func(o *options) error {
		o.netrc = f
		return nil
	}
}

// indexCredential is an index's user and password, with where they go.
type indexCredential struct {
	index  string // the index URL without credentials (sameIndexKey)
	origin string // simple.Origin of the index
	prefix string // the index's path less a last "simple" segment, ending in "/"
	user   *url.Userinfo
}

// sameIndexKey is an index URL as two spellings of it compare: without
// credentials or a trailing "/".
func sameIndexKey(s string) string {
	return strings.TrimSuffix(simple.WithoutCredentials(s), "/")
}

// indexKey is the context key of the index a request's file was locked
// from (withIndex).
type indexKey struct{}

// withIndex returns ctx naming the index of the file asked for, whose
// credentials its requests (and their redirects to the same origin)
// carry first.
func withIndex(ctx context.Context, index string) context.Context {
	return context.WithValue(ctx, indexKey{}, index)
}

// credentialFor chooses the credentials of a request for u, of a file
// locked from index (""): see WithIndexCredentials, then the netrc's
// entry for u's host.
func (o *options) credentialFor(u *url.URL, index string) *url.Userinfo {
	org := simple.Origin(u)
	if org == "" {
		return nil
	}
	var best *indexCredential
	bestLen := -1
	for i := range o.credentials {
		c := &o.credentials[i]
		if c.origin != org {
			continue
		}
		if index != "" && c.index == sameIndexKey(index) {
			return c.user
		}
		n := 0
		if strings.HasPrefix(u.EscapedPath(), c.prefix) {
			n = len(c.prefix)
		}
		if n > bestLen {
			best, bestLen = c, n
		}
	}
	if best != nil {
		return best.user
	}
	if e, ok := o.netrc.Find(u.Hostname()); ok && e.Login != "" {
		return url.UserPassword(e.Login, e.Password)
	}
	return nil
}

// authorize gives req the credentials of its file's index (withIndex) or
// origin, unless its URL carries its own (a lock written before they
// were left out).
func (o *options) authorize(req *http.Request) {
	if req.URL.User != nil || (len(o.credentials) == 0 && o.netrc == nil) {
		return
	}
	index, _ := req.Context().Value(indexKey{}).(string)
	if ui := o.credentialFor(req.URL, index); ui != nil {
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
