package cmd

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is set at link time by the Makefile (-X); otherwise the module
// version from the build info is used.
var Version = ""

// buildVersion describes the running binary.
type buildVersion struct {
	Version  string `json:"version"`
	Go       string `json:"go"`
	Revision string `json:"revision,omitempty"`
	Time     string `json:"time,omitempty"`
	Modified bool   `json:"modified,omitempty"`
}

func currentVersion() buildVersion {
	v := buildVersion{Version: Version}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	v.Go = info.GoVersion
	if v.Version == "" {
		v.Version = info.Main.Version
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	if v.Version == "" || v.Version == "(devel)" {
		v.Version = "devel"
	}
	return v
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:         "version",
		Short:       "Print larder's version, Go version and VCS revision",
		Args:        cobra.NoArgs,
		Annotations: map[string]string{"config": "none"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := currentVersion()
			if asJSON, _ := cmd.Flags().GetBool("json"); asJSON {
				return writeJSON(cmd.OutOrStdout(), v)
			}
			rev := v.Revision
			if rev == "" {
				rev = "unknown revision"
			} else if v.Modified {
				rev += " (modified)"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "larder %s (%s, %s)\n", v.Version, v.Go, rev)
			return nil
		},
	}
}
