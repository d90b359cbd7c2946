package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/larder-build/larder/wheelhouse/serve"
)

// version is set at link time (-ldflags "-X main.version=...").
var version = ""

// Exit codes of larder-index's own failures, as env(1) uses them.
const (
	exitUsage    = 2
	exitFailure  = 125
	exitNoExec   = 126
	exitNotFound = 127
)

// defaultWheelhouse is where images keep the store when no configuration
// says otherwise.
const defaultWheelhouse = "/wheelhouse"

const usage = `usage:
  larder-index serve [flags]             serve the wheelhouse until SIGINT/SIGTERM
  larder-index exec [flags] -- CMD ARGS  serve, then run CMD as a child and exit with its status
  larder-index version

flags:
`

// memoryLimit is the Go runtime's soft memory limit unless GOMEMLIMIT sets
// one: the server's own bounds (pages parsed and kept; pages are written
// as a stream) keep its live memory near 30 MB whatever an upstream sends, and the limit makes
// the collector return garbage before the heap doubles, so that a
// container stays under 100 MB.
const memoryLimit = 72 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		newFlags(&options{}, stderr).PrintDefaults()
		return exitUsage
	}
	switch args[0] {
	case "serve":
		return runServe(args[1:], stderr)
	case "exec":
		return runExec(args[1:], stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "larder-index %s\n", buildVersion())
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		newFlags(&options{}, stdout).PrintDefaults()
		return 0
	}
	fmt.Fprintf(stderr, "larder-index: unknown command %q\n%s", args[0], usage)
	return exitUsage
}

func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v = "devel-" + s.Value[:12]
		}
	}
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	return v + " " + info.GoVersion
}

// options are the flags; set records which were given, since they
// override the configuration file.
type options struct {
	config  string
	cfg     serve.Config
	ttl     time.Duration
	private []string
	verbose bool
	set     map[string]bool
}

func newFlags(o *options, out io.Writer) *flag.FlagSet {
	f := flag.NewFlagSet("larder-index", flag.ContinueOnError)
	f.SetOutput(out)
	f.StringVar(&o.config, "config", serve.DefaultConfigFile, "configuration file (JSON); a missing default file is fine, \"\" reads none")
	f.StringVar(&o.cfg.Wheelhouse, "wheelhouse", defaultWheelhouse, "wheelhouse folder to serve")
	f.StringVar(&o.cfg.Addr, "addr", serve.DefaultAddr, "HOST:PORT to listen on")
	f.StringVar(&o.cfg.Upstream, "upstream", serve.DefaultUpstream, "simple index to fall through to for public projects")
	f.BoolVar(&o.cfg.Offline, "offline", false, "never contact the upstream")
	f.Func("private", "GLOB of project names that never fall through (repeatable; added to the configured ones)", func(s string) error {
		o.private = append(o.private, s)
		return nil
	})
	f.StringVar(&o.cfg.CacheDir, "cache-dir", "", "folder for fall-through files (default $XDG_CACHE_HOME/larder/index or /var/cache/larder-index, else a temporary folder)")
	f.DurationVar(&o.ttl, "ttl", serve.DefaultTTL, "how long an upstream page is used before it is revalidated")
	f.BoolVar(&o.verbose, "v", false, "log every request")
	return f
}

// parse reads the flags and merges them over the configuration file.
func parse(args []string, stderr io.Writer) (serve.Config, []string, bool, error) {
	o := &options{set: map[string]bool{}}
	flags := newFlags(o, stderr)
	if err := flags.Parse(args); err != nil {
		return serve.Config{}, nil, false, err
	}
	flags.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	cfg := serve.Config{}
	if o.config != "" {
		switch c, err := serve.ReadConfig(o.config); {
		case err == nil:
			cfg = c
		case errors.Is(err, fs.ErrNotExist) && !o.set["config"]:
		default:
			return cfg, nil, false, configError{err}
		}
	}
	if o.set["wheelhouse"] || cfg.Wheelhouse == "" {
		cfg.Wheelhouse = o.cfg.Wheelhouse
	}
	if o.set["addr"] || cfg.Addr == "" {
		cfg.Addr = o.cfg.Addr
	}
	if o.set["upstream"] || cfg.Upstream == "" {
		cfg.Upstream = o.cfg.Upstream
	}
	if o.set["offline"] {
		cfg.Offline = o.cfg.Offline
	}
	if o.set["cache-dir"] {
		cfg.CacheDir = o.cfg.CacheDir
	}
	if o.set["ttl"] || cfg.TTL == 0 {
		cfg.TTL = serve.Duration(o.ttl)
	}
	cfg.Private = append(cfg.Private, o.private...)
	cfg.AccessLog = cfg.AccessLog || o.verbose
	cfg = cfg.FromEnv(os.Getenv)
	return cfg.WithDefaults(), flags.Args(), o.verbose, nil
}

// newLogger logs to w: warnings, and with verbose every request too,
// buffered (serve.LogWriter) so that a line a request does not cost a
// write each. flush writes out what waits.
func newLogger(w io.Writer, verbose bool) (log *slog.Logger, flush func()) {
	level, flush := slog.LevelWarn, func() {}
	if verbose {
		lw := serve.NewLogWriter(w)
		level, w, flush = slog.LevelInfo, lw, func() { lw.Close() }
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})).With("component", "larder-index"), flush
}

func runServe(args []string, stderr io.Writer) int {
	cfg, rest, verbose, err := parse(args, stderr)
	if err != nil {
		return flagError(stderr, err)
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "larder-index: serve takes no arguments (got %q); did you mean 'exec --'?\n", strings.Join(rest, " "))
		return exitUsage
	}
	log, closeLog := newLogger(stderr, verbose)
	defer closeLog()
	srv, err := serve.Open(cfg, log, serve.WithVersion(buildVersion()))
	if err != nil {
		fmt.Fprintf(stderr, "larder-index: %v\n", err)
		return exitFailure
	}
	ln, err := serve.Listen(cfg.Addr)
	if err != nil {
		fmt.Fprintf(stderr, "larder-index: %v\n", err)
		return exitFailure
	}
	h := srv.Health()
	fmt.Fprintf(stderr, "larder-index: serving %d projects (%d files) from %s on %s\n", h.Projects, h.Files, cfg.Wheelhouse, serve.IndexURL(ln.Addr().String()))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := srv.Serve(ctx, ln); err != nil {
		fmt.Fprintf(stderr, "larder-index: %v\n", err)
		return exitFailure
	}
	return 0
}

// configError is a configuration file that cannot be used: a failure of
// larder-index's own, not a usage error.
type configError struct{ err error }

func (e configError) Error() string { return e.err.Error() }
func (e configError) Unwrap() error { return e.err }

func flagError(stderr io.Writer, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ce configError
	if errors.As(err, &ce) {
		fmt.Fprintf(stderr, "larder-index: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stderr, "larder-index: %v\n", err)
	return exitUsage
}
