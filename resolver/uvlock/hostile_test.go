package uvlock

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestSelectOfManyPackagesTakesLinearTime selects from locks of 20,000
// packages shaped as a hostile (or huge) lock may be: a chain of local
// packages, a chain of index packages and one member depending on all.
// Each edge finds its package by name at once: reading every package of
// the lock for every edge took minutes at this size (hours at 100,000).
// The same holds of a package's extras, each naming the package again
// with the next one: looking an extra up among all of them took seconds
// at 3,000.
func TestSelectOfManyPackagesTakesLinearTime(t *testing.T) {
	const n = 20000
	header := "version = 1\nrevision = 3\nrequires-python = \">=3.9\"\n\n"
	pkg := func(b *strings.Builder, name, source, deps string) {
		fmt.Fprintf(b, "[[package]]\nname = %q\nversion = \"1.0\"\nsource = %s\n", name, source)
		if deps != "" {
			fmt.Fprintf(b, "dependencies = [%s]\n", deps)
		}
		b.WriteString("\n")
	}
	const registry = `{ registry = "https://pypi.org/simple" }`
	for _, tc := range []struct {
		name         string
		lock         func(b *strings.Builder)
		extras       []string
		wantRoots    int
		wantPackages int // local packages are not counted
	}{
		{
			name: "a chain of local packages, each depending on the next",
			lock: func(b *strings.Builder) {
				for i := range n {
					pkg(b, fmt.Sprintf("p%d", i), fmt.Sprintf(`{ editable = "p%d" }`, i), fmt.Sprintf(`{ name = "p%d" }`, i+1))
				}
				pkg(b, fmt.Sprintf("p%d", n), `{ editable = "last" }`, "")
			},
		},
		{
			name: "a chain of index packages below one member",
			lock: func(b *strings.Builder) {
				pkg(b, "root", `{ editable = "." }`, `{ name = "p0" }`)
				for i := range n {
					pkg(b, fmt.Sprintf("p%d", i), registry, fmt.Sprintf(`{ name = "p%d" }`, i+1))
				}
				pkg(b, fmt.Sprintf("p%d", n), registry, "")
			},
			wantRoots:    1,
			wantPackages: n + 1,
		},
		{
			name: "one member depending on every index package",
			lock: func(b *strings.Builder) {
				var deps []string
				for i := range n {
					deps = append(deps, fmt.Sprintf(`{ name = "p%d" }`, i))
				}
				pkg(b, "root", `{ editable = "." }`, strings.Join(deps, ", "))
				for i := range n {
					pkg(b, fmt.Sprintf("p%d", i), registry, "")
				}
			},
			wantRoots:    n,
			wantPackages: n,
		},
		{
			name: "a member's extras, each asking for the member with the next",
			lock: func(b *strings.Builder) {
				b.WriteString("[[package]]\nname = \"root\"\nversion = \"1.0\"\nsource = { editable = \".\" }\n\n[package.optional-dependencies]\n")
				for i := range n {
					fmt.Fprintf(b, "Extra_%d = [{ name = \"root\", extra = [\"extra-%d\"] }]\n", i, i+1)
				}
				fmt.Fprintf(b, "extra-%d = [{ name = \"leaf\" }]\n\n", n)
				pkg(b, "leaf", registry, "")
			},
			extras:       []string{"extra-0"},
			wantRoots:    1,
			wantPackages: 1,
		},
		{
			name: "an index package's extras, each asking for the package with the next",
			lock: func(b *strings.Builder) {
				pkg(b, "root", `{ editable = "." }`, `{ name = "p", extra = ["e0"] }`)
				b.WriteString("[[package]]\nname = \"p\"\nversion = \"1.0\"\nsource = " + registry + "\n\n[package.optional-dependencies]\n")
				for i := range n {
					fmt.Fprintf(b, "E%d = [{ name = \"p\", extra = [\"e%d\"] }]\n", i, i+1)
				}
				fmt.Fprintf(b, "e%d = [{ name = \"leaf\" }]\n\n", n)
				pkg(b, "leaf", registry, "")
			},
			wantRoots:    1,
			wantPackages: 2,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			b.WriteString(header)
			tc.lock(&b)
			l, err := Decode(strings.NewReader(b.String()))
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			sel, err := l.Select(tc.extras, nil)
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Select took %v, want well under 5s", d)
			}
			if len(sel.Roots) != tc.wantRoots || len(sel.Packages) != tc.wantPackages {
				t.Errorf("%d roots and %d packages, want %d and %d", len(sel.Roots), len(sel.Packages), tc.wantRoots, tc.wantPackages)
			}
		})
	}
}
