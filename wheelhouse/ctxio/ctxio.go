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
func Reader(ctx context.Context, r io.Reader) io.Reader { return readFunc(checked(ctx, r.Read)) }

// Writer returns w, failing with ctx's error once ctx ends.
func Writer(ctx context.Context, w io.Writer) io.Writer { return writeFunc(checked(ctx, w.Write)) }

// checked calls op unless ctx has ended.
func checked(ctx context.Context, op func([]byte) (int, error)) func([]byte) (int, error) {
	return func(p []byte) (int, error) {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		return op(p)
	}
}

type readFunc func([]byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }

type writeFunc func([]byte) (int, error)

func (f writeFunc) Write(p []byte) (int, error) { return f(p) }
