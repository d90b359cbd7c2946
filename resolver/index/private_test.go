package index

import (
	"context"
	"errors"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
)

// TestAPrivateNameIsNeverLookedUpOnAPublicIndex: a project matching a
// private glob comes from the organisation's index even when the public
// one, listed first, offers it (dependency confusion); with only public
// indexes it is refused with a PrivateError, and the public index is never
// asked; a pin to an index is obeyed; other names are looked up as before.
func TestAPrivateNameIsNeverLookedUpOnAPublicIndex(t *testing.T) {
	wheel := []pypitest.Wheel{{Tags: "py3-none-any"}}
	public := pypitest.Start(t, &pypitest.Index{Projects: []pypitest.Project{
		{Name: "acme-tools", Releases: []pypitest.Release{{Version: "99.0", Wheels: wheel}}},
		{Name: "six", Releases: []pypitest.Release{{Version: "1.16.0", Wheels: wheel}}},
	}})
	org := pypitest.Start(t, &pypitest.Index{Projects: []pypitest.Project{
		{Name: "acme-tools", Releases: []pypitest.Release{{Version: "1.0", Wheels: wheel}}},
	}})
	isPublic := withPublic(func(u string) bool { return u == public.URL() })
	ctx := context.Background()

	c := newClient(t, []string{public.URL(), org.URL()}, WithPrivate([]string{"acme-*"}), isPublic)
	p, err := c.Project(ctx, "Acme_Tools")
	if err != nil || p.Index != org.URL() {
		t.Fatalf("acme-tools came from %v, %v; want the organisation's index", p, err)
	}
	if p, err := c.Project(ctx, "six"); err != nil || p.Index != public.URL() {
		t.Fatalf("six came from %v, %v; want the public index", p, err)
	}

	only := newClient(t, []string{public.URL()}, WithPrivate([]string{"acme-*"}), isPublic)
	_, err = only.Project(ctx, "acme-tools")
	var pe *PrivateError
	if !errors.As(err, &pe) || pe.Name != "acme-tools" {
		t.Fatalf("acme-tools with only a public index: %v, want a PrivateError", err)
	}
	if n := public.Requests("/simple/acme-tools/"); n != 0 {
		t.Fatalf("the public index was asked %d times for a private name", n)
	}

	pinned := newClient(t, []string{public.URL()}, WithPrivate([]string{"acme-*"}), WithProjectIndex("acme-tools", org.URL()), isPublic)
	if p, err := pinned.Project(ctx, "acme-tools"); err != nil || p.Index != org.URL() {
		t.Fatalf("a pinned private name came from %v, %v; want its pin", p, err)
	}
}

func TestIsPublicKnowsPyPIByItsHost(t *testing.T) {
	for u, want := range map[string]bool{
		"https://pypi.org/simple/":             true,
		"https://PyPI.org./simple/":            true,
		"https://test.pypi.org/simple/":        true,
		"https://pypi.python.org/simple/":      true,
		"https://pypi.internal.example/simple": false,
		"http://127.0.0.1:3141/simple/":        false,
		"https://evil.example/pypi.org/simple": false,
	} {
		if got := IsPublic(u); got != want {
			t.Errorf("IsPublic(%q) = %v, want %v", u, got, want)
		}
	}
}
