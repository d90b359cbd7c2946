package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/larder-build/larder/wheelhouse/serve"
)

// forwarded are the signals passed on to the child.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

// indexEnv are the variables pointed at the server unless already set.
var indexEnv = []string{"PIP_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX_URL"}

func runExec(args []string, stderr io.Writer) int {
	cfg, argv, verbose, err := parse(args, stderr)
	if err != nil {
		return flagError(stderr, err)
	}
	if len(argv) == 0 {
		fmt.Fprintf(stderr, "larder-index: exec needs a command: larder-index exec [flags] -- CMD ARGS...\n")
		return exitUsage
	}
	log, closeLog := newLogger(stderr, verbose)
	defer closeLog()
	// A command that cannot run fails before anything starts.
	path, err := exec.LookPath(argv[0])
	if err != nil {
		fmt.Fprintf(stderr, "larder-index: %v\n", err)
		if errors.Is(err, os.ErrPermission) {
			return exitNoExec
		}
		return exitNotFound
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	url, served, err := startServer(ctx, cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "larder-index: %v\n", err)
		return exitFailure
	}
	env := os.Environ()
	for _, k := range indexEnv {
		if _, ok := os.LookupEnv(k); !ok {
			env = append(env, k+"="+url)
		}
	}
	code := supervise(path, argv, env, log, stderr)
	cancel()
	if served != nil {
		// Requests in flight are the child's, which is gone: wait a moment
		// for the cache to settle, not the whole grace period.
		select {
		case <-served:
		case <-time.After(time.Second):
		}
	}
	return code
}

// startServer serves cfg's wheelhouse on cfg.Addr and returns the index
// URL once the server answers; done is closed when it has stopped. When
// another larder-index already answers on the address, it returns that
// server's URL and a nil done.
func startServer(ctx context.Context, cfg serve.Config, log *slog.Logger) (string, <-chan struct{}, error) {
	ln, err := serve.Listen(cfg.Addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) && isLarderIndex(cfg.Addr) {
			log.Info("another larder-index serves the address; running the command without a second server", "addr", cfg.Addr)
			return serve.IndexURL(cfg.Addr), nil, nil
		}
		return "", nil, err
	}
	srv, err := serve.Open(cfg, log, serve.WithVersion(buildVersion()))
	if err != nil {
		// The command matters more than the index: serve nothing local,
		// fall through for everything, and say why loudly.
		log.Error("cannot open the wheelhouse; serving without it", "wheelhouse", cfg.Wheelhouse, "err", err)
		opts, oerr := cfg.Options(log)
		if oerr != nil {
			ln.Close()
			return "", nil, oerr
		}
		if srv, err = serve.New(nil, append(opts, serve.WithVersion(buildVersion()))...); err != nil {
			ln.Close()
			return "", nil, err
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ctx, ln); err != nil {
			log.Error("index server stopped", "err", err)
		}
	}()
	addr := ln.Addr().String()
	deadline := time.Now().Add(5 * time.Second)
	for !isLarderIndex(addr) {
		if time.Now().After(deadline) {
			return "", nil, fmt.Errorf("the index server on %s does not answer", addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return serve.IndexURL(addr), done, nil
}

// isLarderIndex reports whether a larder-index answers /-/healthz on addr.
func isLarderIndex(addr string) bool {
	base := strings.TrimSuffix(serve.IndexURL(addr), "simple/")
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil, DialContext: (&net.Dialer{Timeout: time.Second}).DialContext}}
	resp, err := c.Get(base + "-/healthz")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var h serve.Health
	return resp.StatusCode == http.StatusOK && json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&h) == nil && h.Server == "larder-index"
}

// supervise runs path with argv as a child with the same stdio, forwards signals to
// it, reaps orphans when this process is PID 1 or a subreaper, and returns
// the child's exit status (128+N when signal N killed it).
func supervise(path string, argv []string, env []string, log *slog.Logger, stderr io.Writer) int {
	reaping := os.Getpid() == 1
	if !reaping {
		if err := becomeSubreaper(); err == nil {
			reaping = true
		} else {
			log.Debug("not reaping orphans", "err", err)
		}
	}
	// Signals are caught before the child exists, so that none is lost.
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	children := make(chan os.Signal, 1)
	signal.Notify(children, syscall.SIGCHLD)
	defer signal.Stop(children)

	proc, err := os.StartProcess(path, argv, &os.ProcAttr{
		Env:   env,
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
		Sys:   childAttr(),
	})
	if err != nil {
		fmt.Fprintf(stderr, "larder-index: running %s: %v\n", argv[0], err)
		if errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.ENOEXEC) {
			return exitNoExec
		}
		return exitNotFound
	}
	pid := proc.Pid
	status := make(chan syscall.WaitStatus, 1)
	if !reaping {
		go func() {
			var ws syscall.WaitStatus
			for {
				_, err := syscall.Wait4(pid, &ws, 0, nil)
				if err != syscall.EINTR {
					break
				}
			}
			status <- ws
		}()
	}
	tick := time.NewTicker(time.Second) // SIGCHLD may coalesce; reap anyway
	defer tick.Stop()
	for {
		select {
		case sig := <-sigs:
			log.Debug("forwarding signal", "signal", sig.String(), "pid", pid)
			if err := syscall.Kill(pid, sig.(syscall.Signal)); err != nil && err != syscall.ESRCH {
				log.Warn("cannot forward signal", "signal", sig.String(), "err", err)
			}
		case ws := <-status:
			return exitCode(ws)
		case <-children:
			if ws, done := reap(pid, reaping); done {
				return exitCode(ws)
			}
		case <-tick.C:
			if ws, done := reap(pid, reaping); done {
				return exitCode(ws)
			}
		}
	}
}

// reap collects every exited child without blocking, reporting the main
// child's status when it is among them. Without reaping, only the waiter
// goroutine waits, for the main child alone.
func reap(pid int, reaping bool) (syscall.WaitStatus, bool) {
	if !reaping {
		return 0, false
	}
	var main syscall.WaitStatus
	found := false
	for {
		var ws syscall.WaitStatus
		p, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if p <= 0 || err != nil {
			return main, found
		}
		if p == pid {
			main, found = ws, true
		}
	}
}

func exitCode(ws syscall.WaitStatus) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return 128 + int(ws.Signal())
	}
	return exitFailure
}
