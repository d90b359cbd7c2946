package cmd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/larder-build/larder/cmd/larder/config"
	"github.com/larder-build/larder/wheelhouse"
)

// initSummary is what init reports with --json.
type initSummary struct {
	Wrote        string   `json:"wrote"`
	Requirements []string `json:"requirements"`
	Extras       []string `json:"extras"`
	Groups       []string `json:"groups"`
	Chosen       string   `json:"chosen"`
	Python       string   `json:"python"`
	PythonWhy    []string `json:"python_why"`
	Next         string   `json:"next"`
	// Warnings name the found files left out (names with control
	// characters or not UTF-8).
	Warnings []string `json:"warnings,omitempty"`
}

func newInitCmd(g *globals) *cobra.Command {
	var force bool
	var extras, groups []string
	c := &cobra.Command{
		Use:   "init [FILES...]",
		Short: "Write a starter larder.toml from the requirement files found",
		Long: `Write a commented starter larder.toml. Without FILES, init looks for
requirements*.txt, requirements/**/*.txt, pyproject.toml and uv.lock in the
working folder, picks the main one and lists the others for you to add.

It selects the project's test extra and dependency group (named test,
tests or testing) of the pyproject.toml or uv.lock it picks, since the
image is for running the tests; --extra and --group choose others.`,
		Example:     "  larder init\n  larder init --extra development\n  larder init requirements/edx/base.txt requirements/constraints.txt",
		Annotations: map[string]string{"config": "none"},
		RunE: func(cmd *cobra.Command, files []string) error {
			dir, err := os.Getwd()
			if err != nil {
				return err
			}
			for _, f := range files {
				if _, err := os.Stat(f); err != nil {
					return fmt.Errorf("init: %w", err)
				}
			}
			out := g.configFile
			if out == "" {
				out = config.DefaultFile
			}
			if _, err := os.Stat(out); err == nil && !force {
				return withHint(fmt.Errorf("init: %s already exists", out), "use --force to overwrite it")
			} else if err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("init: %w", err)
			}
			st, err := config.Starter(dir, config.StarterOptions{Files: files, Extras: extras, Groups: groups, Context: cmd.Context()})
			if err != nil {
				return fmt.Errorf("init: %w", err)
			}
			b := st.TOML
			if err := wheelhouse.WriteFileAtomic(out, b, 0o644); err != nil {
				return fmt.Errorf("init: %w", err)
			}
			cfg, err := config.Parse(b, out)
			if err != nil {
				return fmt.Errorf("init: the starter does not read back: %w", err)
			}
			s := initSummary{Wrote: out, Requirements: cfg.Project.Requirements, Extras: st.Extras, Groups: st.Groups, Chosen: st.Why, Python: st.Python, PythonWhy: st.PythonWhy, Next: "larder lock", Warnings: st.Warnings}
			if s.Requirements == nil {
				s.Requirements = []string{}
			}
			if len(s.Requirements) == 0 {
				s.Next = "list your requirement files under [project] requirements in " + out + " (or run 'larder init --force FILE...'), then larder lock"
			}
			if g.json {
				return writeJSON(cmd.OutOrStdout(), s)
			}
			s.writeText(cmd.OutOrStdout())
			return nil
		},
	}
	c.Flags().BoolVar(&force, "force", false, "overwrite an existing file")
	c.Flags().StringArrayVar(&extras, "extra", nil, "extra of the pyproject.toml or uv.lock to select instead of its test extra (repeatable)")
	c.Flags().StringArrayVar(&groups, "group", nil, "dependency group to select instead of the test group (repeatable)")
	return c
}

// writeText says what init wrote. Every name in it comes from the
// project's files or the command line, so each is shown escaped when it
// holds a byte a terminal would act on.
func (s *initSummary) writeText(w io.Writer) {
	if len(s.Requirements) == 0 {
		fmt.Fprintf(w, "wrote %s, with no requirement files: none were found here\nnext: %s\n", printable(s.Wrote), printable(s.Next))
	} else {
		fmt.Fprintf(w, "wrote %s for %s; next: %s\n", printable(s.Wrote), listOrNone(s.Requirements), printable(s.Next))
		fmt.Fprintf(w, "  extras %s, groups %s: %s\n", listOrNone(s.Extras), listOrNone(s.Groups), printable(s.Chosen))
		if len(s.PythonWhy) > 0 {
			fmt.Fprintf(w, "  python %s: %s\n", printable(s.Python), printable(s.PythonWhy[0]))
		}
	}
	for _, wn := range s.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", printable(wn))
	}
}

// listOrNone shows names as a list, each printable, or "none".
func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	shown := make([]string, len(names))
	for i, n := range names {
		shown[i] = printable(n)
	}
	return strings.Join(shown, ", ")
}

// printable returns s as it is when a terminal shows it as text, else
// Go-quoted: a control character (a newline that starts a fake line, an
// escape sequence), an invisible format character or invalid UTF-8 is
// written as an escape, never raw.
func printable(s string) string {
	if utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool { return r != ' ' && !unicode.IsPrint(r) }) < 0 {
		return s
	}
	return strconv.Quote(s)
}
