// Command fakepypi serves a fake package index for demos and benchmarks:
// the edx-platform workload, or any pypitest spec file, on a loopback port.
//
//	go run ./internal/cmd/fakepypi -edx -scale 0.05 -addr 127.0.0.1:8080
//	go run ./internal/cmd/fakepypi -spec testdata/demo/index.toml
//
// It prints the index URL on its first line, then serves until killed.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"

	"github.com/larder-build/larder/internal/edxindex"
	"github.com/larder-build/larder/internal/pypitest"
)

func main() {
	spec := flag.String("spec", "", "pypitest spec file (TOML or JSON)")
	edx := flag.Bool("edx", false, "serve the generated edx-platform workload")
	scale := flag.Float64("scale", 1, "file size scale for -edx")
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback only)")
	latency := flag.Duration("latency", 0, "added latency per request")
	pages := flag.String("page-cache-control", pypitest.PyPIPageCacheControl, "Cache-Control of index pages (PyPI's by default)")
	files := flag.String("file-cache-control", pypitest.PyPIFileCacheControl, "Cache-Control of files (PyPI's by default)")
	flag.Parse()
	opts := []pypitest.Option{pypitest.WithLatency(*latency), pypitest.WithCacheControl(*pages), pypitest.WithFileCacheControl(*files)}
	if err := run(*spec, *edx, *scale, *addr, opts); err != nil {
		fmt.Fprintln(os.Stderr, "fakepypi:", err)
		os.Exit(1)
	}
}

func run(spec string, edx bool, scale float64, addr string, opts []pypitest.Option) error {
	var idx *pypitest.Index
	var err error
	switch {
	case edx:
		idx, _, err = edxindex.Generate(edxindex.Options{Scale: scale})
	case spec != "":
		idx, err = pypitest.Load(spec)
	default:
		return fmt.Errorf("give -spec FILE or -edx")
	}
	if err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %s is not a loopback address", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := pypitest.New(idx, opts...)
	if err := srv.Err(); err != nil {
		return err
	}
	fmt.Printf("http://%s/simple/\n", l.Addr())
	return http.Serve(l, srv)
}
