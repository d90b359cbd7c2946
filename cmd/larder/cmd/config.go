package cmd

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newConfigCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration as TOML",
		Long: `Print the configuration larder uses: larder.toml (or --config) over the
built-in defaults.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := g.cfg.Encode()
			if err != nil {
				return err
			}
			if g.cfg.File != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "# from %s\n", g.cfg.File)
			} else {
				fmt.Fprintln(cmd.OutOrStdout(), "# built-in defaults (no larder.toml found)")
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	}
}
