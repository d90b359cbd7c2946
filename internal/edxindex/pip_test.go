package edxindex

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/piptest"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/resolver/dist"
)

// TestPipResolvesTheRootsToExactlyThePins runs a resolver nobody here wrote,
// pip, on the roots and constraints against the fake PyPI serving the
// workload (about 25 s on 2 cores; not with -short).
//
// Conflict decoys are left out: pip's resolvelib 1.0 backjumping is unsound
// and reports ResolutionImpossible on them although the pins are a solution
// (with the pins as constraints pip accepts them). mysqlclient gets a wheel,
// since pip cannot build its sdist offline here (no setuptools wheel).
func TestPipResolvesTheRootsToExactlyThePins(t *testing.T) {
	testenv.Slow(t, "runs pip on the whole workload")
	python := testenv.Tool(t, "python3")
	idx, w, err := Generate(Options{Scale: 0.0001, Reasons: []Reason{ReasonRequiresPython, ReasonMissingVersion, ReasonConstraint}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range idx.Projects {
		if idx.Projects[i].Name == "mysqlclient" {
			for j := range idx.Projects[i].Releases {
				idx.Projects[i].Releases[j].Wheels = []pypitest.Wheel{{Tags: "py3-none-any"}}
			}
		}
	}
	srv := pypitest.Start(t, idx)
	dir := t.TempDir()
	roots, err := w.RootsFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(dir, "report.json")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-m", "pip", "install", "--dry-run", "--ignore-installed",
		"--no-build-isolation", "--index-url", srv.URL(), "-r", roots, "--report", report, "-q")
	cmd.Dir = dir
	cmd.Env = piptest.Env(dir)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pip: %v\n%s", err, out)
	}
	t.Logf("pip resolved in %s", time.Since(start).Round(time.Second))
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Install []struct {
			Metadata struct{ Name, Version string } `json:"metadata"`
		} `json:"install"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, in := range rep.Install {
		got[dist.NormalizeName(in.Metadata.Name)] = in.Metadata.Version
	}
	for name, ver := range w.Pins {
		if got[name] != ver {
			t.Errorf("%s: pip chose %q, the pin is %s", name, got[name], ver)
		}
	}
	for name, ver := range got {
		if _, ok := w.Pins[name]; !ok {
			t.Errorf("pip installs %s %s, which is not pinned", name, ver)
		}
	}
}
