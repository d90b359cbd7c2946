package ctxio

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestCopiesStopWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	if _, err := io.Copy(Writer(ctx, &out), Reader(ctx, strings.NewReader("before"))); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := io.Copy(&out, Reader(ctx, strings.NewReader("after"))); !errors.Is(err, context.Canceled) {
		t.Errorf("reading after the cancel: %v", err)
	}
	if _, err := Writer(ctx, &out).Write([]byte("after")); !errors.Is(err, context.Canceled) {
		t.Errorf("writing after the cancel: %v", err)
	}
	if out.String() != "before" {
		t.Errorf("copied %q", out.String())
	}
}
