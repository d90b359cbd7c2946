package pep508

import (
	"errors"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/larder-build/larder/internal/pyref"
)

// referenceScript answers questions with pip's vendored packaging 21.3.
var referenceScript = filepath.Join("..", "..", "testdata", "pep508", "reference.py")

// refEval is the reference's answer for one marker in one environment.
type refEval struct {
	V              bool   `json:"v"`
	Err            string `json:"err"`
	ExtraDefaulted bool   `json:"extra_defaulted"`
}

// refAnswer is the reference's answer for one marker or requirement.
type refAnswer struct {
	Valid bool      `json:"valid"`
	Err   string    `json:"err"`
	Str   string    `json:"str"`
	Eval  []refEval `json:"eval"`
	// Requirements only.
	Name   string   `json:"name"`
	Extras []string `json:"extras"`
	Spec   string   `json:"spec"`
	Legacy bool     `json:"legacy"`
	URL    string   `json:"url"`
	Marker *string  `json:"marker"`
}

// askReference runs one python3 process for all queries: it sets envs,
// then asks about each marker or requirement, returning answers in order.
func askReference(t *testing.T, envs []Environment, markers, reqs []string) (markerAnswers, reqAnswers []refAnswer) {
	t.Helper()
	queries := []any{map[string]any{"envs": envs}}
	for _, m := range markers {
		queries = append(queries, map[string]string{"marker": m})
	}
	for _, r := range reqs {
		queries = append(queries, map[string]string{"req": r})
	}
	answers, err := pyref.Ask[any, refAnswer](t, queries, referenceScript)
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Skipf("reference script failed (is pip installed for python3?): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + len(markers) + len(reqs); len(answers) != want {
		t.Fatalf("reference gave %d answers, want %d", len(answers), want)
	}
	answers = answers[1:]
	return answers[:len(markers)], answers[len(markers):]
}
