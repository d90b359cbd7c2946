// Command larder prepopulates container images with a Python project's
// complete dependency closure.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/larder-build/larder/cmd/larder/cmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cmd.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
