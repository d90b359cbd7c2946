package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/larder-build/larder/cmd/larder/config"
	"github.com/larder-build/larder/images"
	"github.com/larder-build/larder/images/buildkit"
	"github.com/larder-build/larder/images/registrycache"
	"github.com/larder-build/larder/internal/regtransport"
	"github.com/larder-build/larder/layers"
	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/fetch"
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
		newPushCmd(g),
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
	// Usage errors point at the help of the command that was meant.
	helpOf := "larder"
	if c, _, ferr := root.Find(args); ferr == nil && c != root {
		helpOf = c.CommandPath()
	}
	printError(stderr, err, helpOf)
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

// hintFor says what to do about err: a typed error of the libraries that
// the user can act on, else the hint a command attached.
func hintFor(err error) string {
	var cm *wheelhouse.CorruptManifestError
	if errors.As(err, &cm) {
		return fmt.Sprintf("move it aside (mv %s %s.bad) and run 'larder fetch': the files already there are re-hashed against the lock and kept", cm.Path, cm.Path)
	}
	var h hintError
	if errors.As(err, &h) {
		return h.hint
	}
	if pv, ok := errors.AsType[*index.PrivateError](err); ok {
		return fmt.Sprintf("a private name comes only from your own index: pin it in larder.toml ([index.projects] %q = \"https://your.index/simple/\"), require it by its git URL, or add the index that has it (larder serve, where it was uploaded) to [index] url or extra-urls", pv.Name)
	}
	if ph, ok := errors.AsType[*registrycache.PlainHTTPError](err); ok {
		if ph.FromRemote {
			return fmt.Sprintf("the registry sent larder to %s, a plain-HTTP address on this machine; if that is meant (its storage runs here), pass --insecure (or [cache] insecure = true)", ph.Host)
		}
		return fmt.Sprintf("use https, or if %s really speaks plain HTTP on a network you trust, pass --insecure (or [cache] insecure = true)", ph.Host)
	}
	if re, ok := errors.AsType[*transport.Error](err); ok && (re.StatusCode == http.StatusUnauthorized || re.StatusCode == http.StatusForbidden) {
		return "the registry refused the credential: log in (docker login REGISTRY, or a credential helper in ~/.docker/config.json, or REGISTRY_AUTH_FILE); pushing needs write access, fetching only read"
	}
	if te, ok := errors.AsType[*regtransport.TimeoutError](err); ok {
		host := te.URL
		if u, perr := url.Parse(te.URL); perr == nil {
			host = u.Host
		}
		if te.Upload {
			return fmt.Sprintf("the registry %s stopped taking the upload: is its storage full, or a proxy in front of it limiting bodies? run again once it takes pushes (blobs already there are not sent again)", host)
		}
		return fmt.Sprintf("the registry %s took the connection but stopped answering: is it overloaded, or a proxy in front of it holding connections? run again once it answers", host)
	}
	if tm, ok := errors.AsType[*registrycache.TooManyTagsError](err); ok {
		return fmt.Sprintf("name the wheelhouses of %s to serve with --cache-tag TAG (repeatable), or remove old ones from the registry", tm.Ref)
	}
	if pe, ok := errors.AsType[*images.PlatformError](err); ok {
		return fmt.Sprintf("give a base for %s, or bake for --platform %s", pe.Want, pe.Have)
	}
	if ib, ok := errors.AsType[*images.IndexBinaryError](err); ok {
		if ib.Path == "" {
			return fmt.Sprintf("build it with 'make build' (bin/larder-index-linux-<arch> beside bin/larder), or pass --index-binary %s=PATH", ib.Platform)
		}
		return fmt.Sprintf("build it with 'make build', or pass --index-binary %s=PATH", ib.Platform)
	}
	switch {
	case errors.Is(err, wheelhouse.ErrNoManifest):
		return "run 'larder fetch' first"
	case is[*fetch.IncompleteError](err):
		return "run 'larder fetch' to complete the wheelhouse"
	case is[*wheelhouse.InconsistentError](err):
		return "run 'larder fetch' to repair it, 'larder verify' for details"
	case is[*images.WheelhouseError](err):
		return "run 'larder fetch' first, and 'larder verify' to see what is wrong"
	case is[*layers.HashMismatchError](err) || is[*layers.SourceError](err):
		return "the wheelhouse changed on disk: 'larder verify' lists the damage, 'larder fetch' repairs it"
	case errors.Is(err, images.ErrArchivePlatforms):
		return "bake one --platform for it, or write an oci: layout or a registry"
	case is[*images.TooManyLayersError](err):
		return "flatten the base image or bake with fewer --buckets"
	case is[*buildkit.UnreachableError](err):
		return "start one (as root: buildkitd --oci-worker=true --containerd-worker=false &), or point --buildkit-addr or BUILDKIT_HOST at yours (docker buildx: docker-container://buildx_buildkit_NAME0)"
	}
	return ""
}

// is reports whether err's tree holds an error of type T.
func is[T error](err error) bool {
	_, ok := errors.AsType[T](err)
	return ok
}

func printError(w io.Writer, err error, helpOf string) {
	msg := err.Error()
	// Cobra appends its suggestions for a mistyped command as a block
	// ("\n\nDid you mean this?\n\tlock\n"): one hint line instead.
	var suggest []string
	if head, tail, ok := strings.Cut(msg, "\n\nDid you mean this?\n"); ok {
		msg = head
		for _, l := range strings.Split(tail, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				suggest = append(suggest, "'larder "+escapeControls(l)+"'")
			}
		}
	}
	// Several problems (e.g. every bad key of a config file) go one a line.
	for _, l := range strings.Split(strings.TrimRight(msg, "\n"), "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		fmt.Fprintf(w, "larder: %s\n", escapeControls(l))
	}
	if hint := hintFor(err); hint != "" {
		fmt.Fprintf(w, "hint: %s\n", escapeControls(hint))
	}
	if len(suggest) > 0 {
		fmt.Fprintf(w, "hint: did you mean %s?\n", strings.Join(suggest, " or "))
	}
	if isUsage(err) {
		fmt.Fprintf(w, "Run '%s --help' for usage.\n", helpOf)
	}
}

// escapeControls returns a line of a message with every character a
// terminal would not show as text written as a Go escape: an error names
// what a lock, a requirement file, an index or a registry said, and a
// name holding ESC or a carriage return must not rewrite the terminal or
// fake another line. Tabs and printable text, in any script, stay.
func escapeControls(s string) string {
	bad := func(r rune) bool { return r == utf8.RuneError || r != ' ' && r != '\t' && !unicode.IsPrint(r) }
	if strings.IndexFunc(s, bad) < 0 {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
				fmt.Fprintf(&b, `\x%02x`, s[i])
			} else {
				b.WriteString(`\ufffd`)
			}
		case bad(r):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// textReport is what a verb reports, written for people.
type textReport interface {
	writeText(w io.Writer)
}

// report writes what a verb did to w: as JSON with --json, else as text.
func report(w io.Writer, asJSON bool, s textReport) error {
	if asJSON {
		return writeJSON(w, s)
	}
	s.writeText(w)
	return nil
}

// writeJSON prints v as indented JSON, the form of every --json output.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
