package cmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/larder-build/larder/resolver"
	"github.com/larder-build/larder/resolver/pylock"
)

func newWhyCmd(g *globals) *cobra.Command {
	var lockPath string
	var limit int
	c := &cobra.Command{
		Use:   "why NAME",
		Short: "Show the chains of requirements that pull NAME into the closure",
		Long: `Print what pulls a package into the lock, as an inverted tree: the package,
the packages that depend on it below it, and so on up to the project's own
requirements. With --json, every chain from a requirement to NAME.`,
		Example: "  larder why six\n  larder why --json cryptography",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if lockPath == "" {
				lockPath = g.cfg.Path(g.cfg.Project.Lock)
			}
			l, err := pylock.Load(lockPath)
			if err != nil {
				return withHint(fmt.Errorf("why: %w", err), "run 'larder lock' first")
			}
			graph := resolver.GraphFromLock(l)
			name := args[0]
			if !graph.Has(name) {
				err := fmt.Errorf("why: %s is not in %s", name, lockPath)
				if s := graph.Suggest(name); len(s) > 0 {
					return withHint(err, "did you mean %s?", strings.Join(s, ", "))
				}
				return err
			}
			if g.json {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"name": name, "chains": graph.Chains(name, limit)})
			}
			return graph.WriteTree(cmd.OutOrStdout(), name)
		},
	}
	c.Flags().StringVar(&lockPath, "lock", "", "lock file to read (default [project] lock)")
	c.Flags().IntVar(&limit, "limit", 100, "most chains to print with --json")
	return c
}
