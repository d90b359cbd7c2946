// Command larder-index is larder's index server as a small static binary
// for container images. It imports only the standard library and the
// wheelhouse packages, so that it never links cobra, BuildKit,
// go-containerregistry or go-toml.
//
//	larder-index serve [flags]            serve the wheelhouse until SIGINT/SIGTERM
//	larder-index exec [flags] -- CMD...   serve, then run CMD as a child
//	larder-index version
//
// The configuration is read from /etc/larder/index.json (--config FILE),
// which larder's bake writes; flags override it and --private adds to its
// globs. In exec mode larder-index is the image's entrypoint: it starts
// serving, waits until it answers, runs CMD with the same stdio and
// environment plus PIP_INDEX_URL, UV_DEFAULT_INDEX and UV_INDEX_URL pointing
// at itself (unless already set), forwards SIGINT, SIGTERM, SIGHUP, SIGQUIT,
// SIGUSR1 and SIGUSR2 to it, reaps orphaned processes when it is PID 1 (or,
// on Linux, a child subreaper), and exits with CMD's status, or 128+N when
// signal N killed it. If another larder-index already answers on the
// address, CMD runs without a second server. larder-index's own failures
// exit 125, a command that cannot run 126, one that is not found 127, as
// env(1) and docker do.
package main
