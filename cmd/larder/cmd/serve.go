package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/serve"
)

// serveOptions are the flags of larder serve, the same as larder-index's.
type serveOptions struct {
	wheelhouse string
	addr       string
	upstream   string
	offline    bool
	private    []string
	cacheDir   string
	ttl        time.Duration
	htpasswd   string
	readAuth   bool
	maxUpload  int64
	cache      cacheFlags
	cacheTags  []string
	trusted    []string
}

func newServeCmd(g *globals) *cobra.Command {
	o := &serveOptions{}
	c := &cobra.Command{
		Use:   "serve",
		Short: "Serve the wheelhouse as a PyPI-compatible index, falling through to the upstream",
		Long: `Serve the wheelhouse as a simple index (PEP 503 HTML and PEP 691 JSON) until
interrupted. Public projects fall through to the upstream index: its newer files
are listed next to the baked ones, verified and cached as they are downloaded.
Private projects ([index] private globs, --private, forks built from git) never
fall through.

With --htpasswd FILE (bcrypt entries, as 'htpasswd -B' writes them), the users
of FILE may upload wheels and sdists with twine upload or uv publish to the
server's / or /legacy/; an uploaded project is private from then on.
--read-auth makes every read require the same credentials. /metrics answers
in the Prometheus text format.

Behind a proxy (one that terminates TLS, say), name it with --trusted-proxy
CIDR: its X-Forwarded-For is believed, so that each client's failed logins
are counted against that client, not against the proxy's one address (which
would let anyone make every login through it wait a minute).

With --cache (or [cache] registry), the files of the wheelhouses pushed to the
shared cache (every sha256-* tag, or each --cache-tag) that the wheelhouse
lacks are listed as local ones and streamed from the registry, verified, before
the upstream is asked: replicas with empty wheelhouses serve the same files.

This is the server larder-index runs inside images; -v logs every request.`,
		Example: `  larder serve
  pip install --index-url http://127.0.0.1:3141/simple/ -r requirements.txt
  larder serve --offline --addr 0.0.0.0:3141 --private 'acme-*'
  larder serve --cache docker://ghcr.io/acme/larder-cache --cache-tag main
  htpasswd -B -c users.htpasswd ci && larder serve --htpasswd users.htpasswd
  larder serve --htpasswd users.htpasswd --read-auth --trusted-proxy 10.0.0.0/24
  twine upload --repository-url http://127.0.0.1:3141/legacy/ -u ci dist/*`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd, g, o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.wheelhouse, "wheelhouse", "", "wheelhouse folder to serve (default [wheelhouse] dir)")
	f.StringVar(&o.addr, "addr", serve.DefaultAddr, "HOST:PORT to listen on")
	f.StringVar(&o.upstream, "upstream", "", "simple index to fall through to (default [index] url)")
	f.BoolVar(&o.offline, "offline", false, "never contact the upstream")
	f.StringArrayVar(&o.private, "private", nil, "GLOB of project names that never fall through (repeatable; added to [index] private)")
	f.StringVar(&o.cacheDir, "cache-dir", "", "folder for fall-through files (default $XDG_CACHE_HOME/larder/index or /var/cache/larder-index)")
	f.DurationVar(&o.ttl, "ttl", serve.DefaultTTL, "how long an upstream page is used before it is revalidated")
	f.StringVar(&o.htpasswd, "htpasswd", "", "htpasswd FILE (bcrypt, htpasswd -B) whose users may upload")
	f.BoolVar(&o.readAuth, "read-auth", false, "reads require the --htpasswd credentials too (all but /-/healthz)")
	f.StringArrayVar(&o.trusted, "trusted-proxy", nil, "CIDR of proxies whose X-Forwarded-For names the client, for the failed-login limit and the log (repeatable)")
	f.Int64Var(&o.maxUpload, "max-upload", serve.DefaultMaxUpload, "largest upload accepted, in bytes")
	addCacheFlags(c, &o.cache)
	f.StringArrayVar(&o.cacheTags, "cache-tag", nil, "serve the --cache wheelhouse of this TAG only (repeatable; default every sha256-* tag)")
	return c
}

func runServe(cmd *cobra.Command, g *globals, o *serveOptions) error {
	cfg := serve.Config{
		Wheelhouse: o.wheelhouse,
		Addr:       o.addr,
		Upstream:   o.upstream,
		Private:    append(append([]string{}, g.cfg.Index.Private...), o.private...),
		Offline:    o.offline,
		CacheDir:   o.cacheDir,
		TTL:        serve.Duration(o.ttl),
		AccessLog:  g.verbose,

		TrustedProxies: o.trusted,
	}
	if cfg.Wheelhouse == "" {
		cfg.Wheelhouse = g.cfg.Path(g.cfg.Wheelhouse.Dir)
	}
	if cfg.Upstream == "" {
		cfg.Upstream = g.cfg.Index.URL
	}
	if err := cfg.WithDefaults().Validate(); err != nil {
		return usageError{fmt.Errorf("serve: %w", err)}
	}
	if o.readAuth && o.htpasswd == "" {
		return usageError{errors.New("serve: --read-auth needs --htpasswd FILE")}
	}
	if o.maxUpload <= 0 {
		return usageError{fmt.Errorf("serve: --max-upload %d: must be a positive number of bytes", o.maxUpload)}
	}
	extra := []serve.Option{serve.WithVersion(currentVersion().Version), serve.WithMaxUpload(o.maxUpload)}
	if o.htpasswd != "" {
		extra = append(extra, serve.WithHtpasswd(o.htpasswd), serve.WithReadAuth(o.readAuth), serve.WithUploaders(g.cfg.Index.Uploaders))
	}
	shared, err := openCache(cmd, g, "serve", &o.cache)
	if err != nil {
		return err
	}
	if shared != nil {
		extra = append(extra, serve.WithCache(shared.Served(o.cacheTags...)))
		// A replica of the registry needs no wheelhouse of its own: an
		// absent one starts empty.
		if _, err := os.Stat(filepath.Join(cfg.Wheelhouse, wheelhouse.ManifestName)); errors.Is(err, fs.ErrNotExist) {
			if _, err := wheelhouse.Create(cfg.Wheelhouse); err != nil {
				return fmt.Errorf("serve: %w", err)
			}
		}
	} else if len(o.cacheTags) > 0 {
		return usageError{errors.New("serve: --cache-tag needs --cache docker://REGISTRY/REPO or [cache] registry in larder.toml")}
	}
	level := slog.LevelWarn
	logOut := cmd.ErrOrStderr()
	if g.verbose {
		level = slog.LevelInfo
		// A line a request: buffered, they cost no write each.
		lw := serve.NewLogWriter(logOut)
		defer lw.Close()
		logOut = lw
	}
	var handler slog.Handler = slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level})
	if g.json {
		// A log collector reads the server's lines.
		handler = slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: level})
	}
	log := slog.New(handler)
	srv, err := serve.Open(cfg, log, extra...)
	var badUsers *serve.HtpasswdError
	if errors.As(err, &badUsers) {
		return withHint(fmt.Errorf("serve: %w", err), "write the file with 'htpasswd -B -c %s USER' (bcrypt; pass -B for every user you add)", badUsers.File)
	}
	if err != nil && shared != nil && !errors.Is(err, fs.ErrNotExist) {
		return withHint(fmt.Errorf("serve: %w", err), "check that the shared cache %s answers, or serve without --cache", shared)
	}
	if err != nil {
		return withHint(fmt.Errorf("serve: %w", err), "run 'larder fetch' to fill the wheelhouse, or pass --wheelhouse DIR")
	}
	ln, err := serve.Listen(cfg.WithDefaults().Addr)
	if err != nil {
		srv.Close()
		if errors.Is(err, syscall.EADDRINUSE) {
			return withHint(fmt.Errorf("serve: %w", err), "another server uses %s; pick a free address with --addr", cfg.Addr)
		}
		return fmt.Errorf("serve: %w", err)
	}
	h := srv.Health()
	upstream := h.Upstream.URL
	if cfg.Offline {
		upstream = "none (offline)"
	}
	// Where twine and uv publish upload to, when uploads are on.
	uploads := ""
	if o.htpasswd != "" {
		uploads = strings.TrimSuffix(serve.IndexURL(ln.Addr().String()), "simple/") + "legacy/"
	}
	if g.json {
		// One line a script can wait for, then JSON log lines on stderr.
		if err := json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{
			"serving": serve.IndexURL(ln.Addr().String()), "projects": h.Projects, "files": h.Files,
			"wheelhouse": cfg.Wheelhouse, "upstream": upstream, "uploads": uploads}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(cmd.OutOrStdout(), "serving %d projects (%d files) from %s on %s\n  upstream: %s\n",
			h.Projects, h.Files, cfg.Wheelhouse, serve.IndexURL(ln.Addr().String()), upstream)
		if uploads != "" {
			fmt.Fprintf(cmd.OutOrStdout(), "  uploads: %s (users of %s)\n", uploads, o.htpasswd)
		}
	}
	if err := srv.Serve(cmd.Context(), ln); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
