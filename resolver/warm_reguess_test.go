package resolver

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/pep440"
	"github.com/larder-build/larder/resolver/target"
)

// TestWarmingGuessesAgainForEachNewSpecifier warms lib for one
// requirement, then for others: each specifier not seen before sends the
// warm-up to the newest version it admits, unless that version was
// guessed at already, so that a decoy's requirement, seen first, does not
// keep the warm-up from the version the search will examine.
func TestWarmingGuessesAgainForEachNewSpecifier(t *testing.T) {
	var libs []pypitest.Release
	for _, v := range []string{"0.9", "1.0", "1.5", "2.0"} {
		libs = append(libs, pure(v))
	}
	srv := pypitest.Start(t, &pypitest.Index{Projects: []pypitest.Project{{Name: "lib", Releases: libs}}})
	tests := []struct {
		name  string
		specs []string // warmed in this order, the page fetched after the first
		want  []string // versions whose metadata the warm-up fetched
	}{
		{"one specifier guesses its newest version", []string{"<1"}, []string{"0.9"}},
		{"a new specifier guesses its own newest version", []string{"<1", "<2"}, []string{"0.9", "1.5"}},
		{"a specifier seen before guesses nothing more", []string{"<2", "<1", "<2"}, []string{"0.9", "1.5"}},
		{"a newest version guessed already is not fetched again", []string{"<2", ">=1,<2", "!=1.0"}, []string{"1.5", "2.0"}},
		{"a specifier nothing satisfies guesses nothing", []string{"==3.0", ">=1"}, []string{"2.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.Reset()
			c, err := index.New([]string{srv.URL()}, index.WithCacheDir(t.TempDir()), index.WithRetries(0, 0))
			if err != nil {
				t.Fatal(err)
			}
			sh := newShared(context.Background(), c, []target.Target{mustTarget(t, "linux/amd64:3.11:glibc2.36")})
			for i, s := range tt.specs {
				sh.warm("lib", pep440.MustParseSpecifiers(s))
				if i == 0 {
					// The rest arrive while the page is on its way or
					// after: wait for it either way.
					if _, err := c.Project(context.Background(), "lib"); err != nil {
						t.Fatal(err)
					}
				}
			}
			sh.warmers.Wait() //nolint:errcheck // warm-ups return no error
			var got []string
			for path, n := range srv.Counts() {
				if n > 1 {
					t.Errorf("%s fetched %d times", path, n)
				}
				if v, ok := strings.CutSuffix(path, "-py3-none-any.whl.metadata"); ok {
					got = append(got, v[strings.LastIndex(v, "-")+1:])
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("metadata fetched for %v, want %v", got, tt.want)
			}
		})
	}
}

// TestWarmingGuessesForAtMostEightSpecifiersOfAProject warms lib for
// twelve specifiers, each admitting another newest version: the warm-up
// guesses for the first eight only, so an index whose releases each pin
// their dependency differently cannot send it after every version.
func TestWarmingGuessesForAtMostEightSpecifiersOfAProject(t *testing.T) {
	var libs []pypitest.Release
	for i := 1; i <= 12; i++ {
		libs = append(libs, pure(fmt.Sprintf("%d.0", i)))
	}
	srv := pypitest.Start(t, &pypitest.Index{Projects: []pypitest.Project{{Name: "lib", Releases: libs}}})
	c, err := index.New([]string{srv.URL()}, index.WithCacheDir(t.TempDir()), index.WithRetries(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	sh := newShared(context.Background(), c, []target.Target{mustTarget(t, "linux/amd64:3.11:glibc2.36")})
	sh.warm("lib", pep440.MustParseSpecifiers("<2"))
	if _, err := c.Project(context.Background(), "lib"); err != nil {
		t.Fatal(err)
	}
	for i := 3; i <= 13; i++ {
		sh.warm("lib", pep440.MustParseSpecifiers(fmt.Sprintf("<%d", i)))
	}
	sh.warmers.Wait() //nolint:errcheck // warm-ups return no error
	fetched := 0
	for path := range srv.Counts() {
		if strings.HasSuffix(path, ".whl.metadata") {
			fetched++
		}
	}
	if fetched != maxGuessSpecs {
		t.Errorf("metadata of %d versions fetched for 12 specifiers, want %d", fetched, maxGuessSpecs)
	}
}
