// Package ctxio stops a copy when its context ends: io.Copy and the
// libraries that stream (tar writers, compressors, go-containerregistry)
// take no context, so the reader or writer they are given checks it
// before each call. A copy then ends within one buffer of a cancel.
package ctxio

import (
	"context"
	"io"
)

// Reader returns r, failing with ctx's error once ctx ends.
func Reader(ctx context.Context, r io.Reader) io.Reader { return &reader{ctx, r} }

// Writer returns w, failing with ctx's error once ctx ends.
func Writer(ctx context.Context, w io.Writer) io.Writer { return &writer{ctx, w} }

type reader struct {
	ctx context.Context
	r   io.Reader
}

func (c *reader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

type writer struct {
	ctx context.Context
	w   io.Writer
}

func (c *writer) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
