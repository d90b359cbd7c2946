package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/larder-build/larder/cmd/larder/config"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the command failed: bad input, a failed check, the network
	exitUsage = 2 // the command line itself is wrong
)

// globals are the persistent flags every command shares.
type globals struct {
	configFile string
	verbose    bool
	json       bool
	noProgress bool

	cfg *config.Config
}

// usageError marks errors in the command line itself (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// hintError carries a suggestion printed on a line of its own.
type hintError struct {
	err  error
	hint string
}

func (e hintError) Error() string { return e.err.Error() }
func (e hintError) Unwrap() error { return e.err }

func withHint(err error, format string, args ...any) error {
	return hintError{err: err, hint: fmt.Sprintf(format, args...)}
}

// New returns the root command.
func New() *cobra.Command {
	// BuildKit's client and containerd's content store log warnings
	// through logrus (fs-verity support, and the like) that are no user's
	// business; errors still come back as errors.
	logrus.SetLevel(logrus.ErrorLevel)
	g := &globals{}
	root := &cobra.Command{
		Use:   "larder",
		Short: "Prepopulate container images with a Python project's dependency closure",
		Long: `larder resolves a project's requirements into a lock for every target platform,
fetches the closure into a verified wheelhouse, bakes it into container images as
reproducible layers with a small index server inside, and refreshes one small layer
when requirements change.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return g.loadConfig(cmd)
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	f := root.PersistentFlags()
	f.StringVar(&g.configFile, "config", "", "configuration file (default larder.toml in the working folder, if present)")
	f.BoolVarP(&g.verbose, "verbose", "v", false, "say more about what happens")
	f.BoolVar(&g.json, "json", false, "print machine-readable JSON instead of text, for commands that report")
	f.BoolVar(&g.noProgress, "no-progress", false, "never draw progress bars")

	root.AddCommand(
		newVersionCmd(),
		newConfigCmd(g),
		newInitCmd(g),
		newLockCmd(g),
		newWhyCmd(g),
		newFetchCmd(g),
		newVerifyCmd(g),
		newGCCmd(g),
		newServeCmd(g),
		newBakeCmd(g),
		newBuildCmd(g),
		newExportCmd(g),
	)
	for _, c := range root.Commands() {
		wrapArgs(c)
	}
	return root
}

// wrapArgs turns argument-count errors into usage errors.
func wrapArgs(c *cobra.Command) {
	if c.Args == nil {
		return
	}
	args := c.Args
	c.Args = func(cmd *cobra.Command, a []string) error {
		if err := args(cmd, a); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// loadConfig reads larder.toml once per run: --config must exist, the
// default file is optional.
func (g *globals) loadConfig(cmd *cobra.Command) error {
	if cmd.Annotations["config"] == "none" {
		return nil
	}
	name, optional := g.configFile, false
	if name == "" {
		name, optional = config.DefaultFile, true
	}
	cfg, err := config.Load(name, optional)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return withHint(err, "create one with 'larder init', or drop --config to use the defaults")
		}
		return fmt.Errorf("loading configuration: %w", err)
	}
	g.cfg = cfg
	return nil
}

// Run executes larder with args and returns the process exit code. Errors
// are printed as "larder: what: why" with an optional hint line; a Go
// panic never reaches the user for bad input.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := New()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	printError(stderr, err)
	if isUsage(err) {
		return exitUsage
	}
	return exitError
}

func isUsage(err error) bool {
	var u usageError
	if errors.As(err, &u) {
		return true
	}
	// Cobra reports unknown commands and flags of the root as plain errors.
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "unknown flag") ||
		strings.HasPrefix(msg, "unknown shorthand flag")
}

func printError(w io.Writer, err error) {
	// Several problems (e.g. every bad key of a config file) go one a line.
	lines := strings.Split(err.Error(), "\n")
	for _, l := range lines {
		fmt.Fprintf(w, "larder: %s\n", l)
	}
	var h hintError
	if errors.As(err, &h) {
		fmt.Fprintf(w, "hint: %s\n", h.hint)
	}
	if isUsage(err) {
		fmt.Fprintln(w, "Run 'larder --help' for usage.")
	}
}

// writeJSON prints v as indented JSON, the form of every --json output.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
