package cmd

import (
	"fmt"

	"github.com/pelletier/go-toml/v2"
	"github.com/spf13/cobra"
)

func newConfigCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration as TOML (--json: as JSON)",
		Long: `Print the configuration larder uses: larder.toml (or --config) over the
built-in defaults.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := g.cfg.Encode()
			if err != nil {
				return err
			}
			if g.json {
				// The same keys as the TOML, as JSON.
				var v map[string]any
				if err := toml.Unmarshal(b, &v); err != nil {
					return err
				}
				return writeJSON(cmd.OutOrStdout(), struct {
					File   string         `json:"file"`
					Config map[string]any `json:"config"`
				}{g.cfg.File, v})
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
