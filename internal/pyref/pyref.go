// Package pyref asks a Python reference implementation (pip's vendored
// packaging, pip's own parsers) about many inputs in one python3 process:
// the requests go in as lines of JSON and the answers come back as lines of
// JSON, in order. The differential tests of resolver/pep440, resolver/pep508,
// resolver/tags and resolver/reqfile compare larder's answers with them.
package pyref

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/testenv"
)

// Ask runs a python3 program, writes each of reqs to its standard input as
// a line of JSON while it reads the answers (so that neither side waits on
// a full pipe), and returns every line python3 prints, decoded into an A.
// It skips the test under -short, and when python3 is not installed. The
// error says what failed: starting python3, python3 itself (with its
// standard error, as an *exec.ExitError underneath), writing a request or
// reading an answer. script is the path of a .py file, or else the
// program's text; either way it reaches python3 as an operand, never as
// an option.
func Ask[R, A any](t testing.TB, reqs []R, script string) ([]A, error) {
	t.Helper()
	testenv.Slow(t, "runs python3 as the reference implementation")
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: no reference implementation to compare with")
	}
	args := []string{"-c", script}
	if strings.HasSuffix(script, ".py") && !strings.Contains(script, "\n") {
		args = []string{"--", script}
	}
	cmd := exec.Command(python, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting python3: %w", err)
	}
	written := make(chan error, 1)
	go func() {
		w := bufio.NewWriterSize(stdin, 1<<16)
		enc := json.NewEncoder(w)
		var err error
		for _, r := range reqs {
			if err = enc.Encode(r); err != nil {
				break
			}
		}
		if err == nil {
			err = w.Flush()
		}
		stdin.Close()
		written <- err
	}()
	answers, readErr := readAll[A](bufio.NewReaderSize(stdout, 1<<20))
	writeErr := <-written
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("python3 %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	if writeErr != nil {
		return nil, fmt.Errorf("writing requests to python3: %w", writeErr)
	}
	if readErr != nil {
		return nil, readErr
	}
	return answers, nil
}

// readAll decodes every line of r into an A, reading to the end even past a
// bad line, so that the process writing r is never left blocked.
func readAll[A any](r *bufio.Reader) ([]A, error) {
	var answers []A
	var bad error
	for {
		line, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 && bad == nil {
			var a A
			if err := json.Unmarshal(line, &a); err != nil {
				bad = fmt.Errorf("reading answer %d of python3 %q: %w", len(answers)+1, line, err)
			}
			answers = append(answers, a)
		}
		if err == io.EOF {
			return answers, bad
		}
		if err != nil {
			return answers, fmt.Errorf("reading the answers of python3: %w", err)
		}
	}
}

// Disagreements reports a differential test's disagreements with the
// reference: the first few as test errors, the rest only counted, so that
// one systematic difference does not bury the others in the log.
type Disagreements struct {
	t     testing.TB
	shown int
	n     int
}

// NewDisagreements returns a Disagreements that reports the first shown
// of them to t.
func NewDisagreements(t testing.TB, shown int) *Disagreements {
	return &Disagreements{t: t, shown: shown}
}

// Errorf counts a disagreement, and reports it as a test error if it is
// one of the first shown.
func (d *Disagreements) Errorf(format string, args ...any) {
	d.t.Helper()
	d.n++
	if d.n <= d.shown {
		d.t.Errorf(format, args...)
	}
}

// N returns how many disagreements there have been.
func (d *Disagreements) N() int { return d.n }

// ReportUnshown reports, as a test error, how many disagreements there were
// in all when there were more than were shown.
func (d *Disagreements) ReportUnshown() {
	d.t.Helper()
	if d.n > d.shown {
		d.t.Errorf("... %d failures in all", d.n)
	}
}
