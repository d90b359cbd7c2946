package pep508

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found; the reference comparison needs pip's packaging")
	}
	cmd := exec.Command(py, referenceScript)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	writeErr := make(chan error, 1)
	go func() {
		w := bufio.NewWriter(stdin)
		enc := json.NewEncoder(w)
		err := enc.Encode(map[string]any{"envs": envs})
		for _, m := range markers {
			if err == nil {
				err = enc.Encode(map[string]string{"marker": m})
			}
		}
		for _, r := range reqs {
			if err == nil {
				err = enc.Encode(map[string]string{"req": r})
			}
		}
		if err == nil {
			err = w.Flush()
		}
		stdin.Close()
		writeErr <- err
	}()
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	var answers []refAnswer
	for sc.Scan() {
		var a refAnswer
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("reading reference answer %q: %v", sc.Text(), err)
		}
		answers = append(answers, a)
	}
	if err := <-writeErr; err != nil {
		t.Fatalf("writing to reference: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		if strings.Contains(err.Error(), "exit status") {
			t.Skipf("reference script failed (is pip installed for python3?): %v", err)
		}
		t.Fatal(err)
	}
	if want := 1 + len(markers) + len(reqs); len(answers) != want {
		t.Fatalf("reference gave %d answers, want %d", len(answers), want)
	}
	answers = answers[1:]
	return answers[:len(markers)], answers[len(markers):]
}
