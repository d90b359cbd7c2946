package cmd

import (
	"fmt"
	"net/url"

	"github.com/larder-build/larder/internal/netrc"
	"github.com/larder-build/larder/resolver/simple"
)

// loadNetrc reads the user's netrc ($NETRC, else ~/.netrc), whose
// machines' credentials go to the indexes and files of those hosts, as
// pip, curl and git give them.
func loadNetrc(verb string) (*netrc.File, error) {
	p := netrc.Path()
	f, err := netrc.Load(p)
	if err != nil {
		return nil, withHint(fmt.Errorf("%s: netrc: %w", verb, err), "fix or remove %s (or set NETRC to another file)", p)
	}
	return f, nil
}

// withNetrc returns the index URLs with the netrc's credentials added to
// those that carry none and whose host the netrc names: the index client
// asks with a URL's own credentials, and a lock records none.
func withNetrc(urls []string, n *netrc.File) []string {
	out := make([]string, len(urls))
	for i, s := range urls {
		out[i] = s
		u, err := url.Parse(s)
		if err != nil || u.User != nil || simple.Origin(u) == "" {
			continue
		}
		if e, ok := n.Find(u.Hostname()); ok && e.Login != "" {
			u.User = url.UserPassword(e.Login, e.Password)
			out[i] = u.String()
		}
	}
	return out
}

// credentialsHint says how to give an index's credentials, for a file or
// page answered 401 or 403.
const credentialsHint = "the index wants credentials: give them in larder.toml's [index] url (https://USER:TOKEN@host/simple/), " +
	"pass --index-url with them, or put the host in ~/.netrc (machine HOST login USER password TOKEN); a lock records none"
