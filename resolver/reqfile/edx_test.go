package reqfile

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/piptest"
	"github.com/larder-build/larder/internal/testenv"
)

func parseEdx(t *testing.T, rel string, opts ...Option) *File {
	t.Helper()
	opts = append([]Option{IgnoreMissing(), WithWorkDir(edxRoot)}, opts...)
	f, err := ParseFile(filepath.Join(edxRoot, rel), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func findReq(t *testing.T, reqs []Requirement, name string) Requirement {
	t.Helper()
	for _, r := range reqs {
		if r.Name() == name {
			return r
		}
	}
	t.Fatalf("no requirement named %q", name)
	return Requirement{}
}

func TestEveryEdxFileParsesExceptTheMalformedVariant(t *testing.T) {
	const malformed = "variants/000dbcc7/requirements/edx/github.in"
	for _, rel := range edxFiles(t) {
		_, err := ParseFile(filepath.Join(edxRoot, rel), IgnoreMissing(), WithWorkDir(edxRoot))
		if rel == malformed {
			if err == nil {
				t.Errorf("%s parsed; its line 71 has no #egg=", rel)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", rel, err)
		}
	}
}

func TestEdxPinnedFilesHoldOnlyExactPins(t *testing.T) {
	for _, tc := range []struct {
		file string
		pins int
	}{
		{"requirements/edx/base.txt", 302},
		{"requirements/edx/testing.txt", 354},
		{"requirements/edx/development.txt", 399},
		{"requirements/edx/doc.txt", 332},
		{"requirements/edx-sandbox/base.txt", 31},
	} {
		f := parseEdx(t, tc.file)
		if len(f.Requirements) != tc.pins || len(f.Constraints) != 0 || len(f.Warnings) != 0 {
			t.Errorf("%s: %d requirements, %d constraints, warnings %v; want %d pins only",
				tc.file, len(f.Requirements), len(f.Constraints), f.Warnings, tc.pins)
		}
		for _, r := range f.Requirements {
			if r.Req == nil || len(r.Req.Specifiers) != 1 || r.Req.Specifiers[0].Operator() != "==" ||
				r.URL != "" || r.Editable || len(r.Hashes) != 0 || len(r.ViaNames) == 0 {
				t.Errorf("%s: %s is not a plain annotated == pin", tc.file, r.Source)
			}
		}
	}
}

func TestEdxViaAnnotationsGiveTheDependencyGraph(t *testing.T) {
	f := parseEdx(t, "requirements/edx/base.txt")
	attrs := findReq(t, f.Requirements, "attrs")
	want := []string{"-r requirements/edx/kernel.in", "aiohttp", "edx-ace", "jsonschema", "lti-consumer-xblock",
		"openedx-authz", "openedx-core", "openedx-events", "referencing"}
	if !reflect.DeepEqual(attrs.ViaNames, want) {
		t.Errorf("attrs via %q, want %q", attrs.ViaNames, want)
	}
	if r := findReq(t, f.Requirements, "aiohappyeyeballs"); !reflect.DeepEqual(r.ViaNames, []string{"aiohttp"}) {
		t.Errorf("aiohappyeyeballs via %q, want [aiohttp]", r.ViaNames)
	}
	if r := findReq(t, f.Requirements, "acid-xblock"); !reflect.DeepEqual(r.ViaNames, []string{"-r requirements/edx/kernel.in"}) {
		t.Errorf("acid-xblock via %q", r.ViaNames)
	}
	if attrs.Source.Line != 36 || attrs.Raw != "attrs==25.4.0" {
		t.Errorf("attrs at %s as %q, want line 36 as attrs==25.4.0", attrs.Source, attrs.Raw)
	}

	tools := parseEdx(t, "requirements/pip-tools.txt")
	pip := findReq(t, tools.Requirements, "pip")
	if want := []string{"-c requirements/common_constraints.txt", "pip-tools"}; !reflect.DeepEqual(pip.ViaNames, want) {
		t.Errorf("pip via %q, want %q", pip.ViaNames, want)
	}
}

func TestEdxKernelIncludesConstraintsAndForks(t *testing.T) {
	f := parseEdx(t, "requirements/edx/kernel.in")
	wantFiles := []string{"requirements/edx/kernel.in", "requirements/constraints.txt", "requirements/edx/github.in"}
	for i := range wantFiles {
		wantFiles[i] = filepath.Join(edxRoot, wantFiles[i])
	}
	if !reflect.DeepEqual(f.Files, wantFiles) {
		t.Errorf("files %q, want %q", f.Files, wantFiles)
	}
	if len(f.Constraints) != 21 {
		t.Errorf("%d constraints, want the 21 of constraints.txt", len(f.Constraints))
	}
	django := findReq(t, f.Constraints, "django")
	if !django.Constraint || django.Req.Specifiers.String() != "<6.0" ||
		!reflect.DeepEqual(django.Via, []Source{{File: filepath.Join(edxRoot, "requirements/edx/kernel.in"), Line: 3}}) {
		t.Errorf("Django constraint %+v", django)
	}
	if len(f.Warnings) != 1 || !strings.Contains(f.Warnings[0].String(), "constraints.txt:14: -c common_constraints.txt") {
		t.Errorf("warnings %v, want one for the missing common_constraints.txt", f.Warnings)
	}

	core := findReq(t, f.Requirements, "openedx-core")
	wantVCS := VCS{Kind: "git", URL: "https://github.com/WGU-Open-edX/openedx-core.git",
		Rev: "tpayne/object-tag-modular-permissions", Egg: "openedx-core"}
	if core.VCS == nil || *core.VCS != wantVCS || core.Source.Line != 84 ||
		!reflect.DeepEqual(core.Via, []Source{{File: filepath.Join(edxRoot, "requirements/edx/kernel.in"), Line: 5}}) {
		t.Errorf("openedx-core from github.in: %+v (VCS %+v)", core, core.VCS)
	}

	var events *Requirement
	for i, r := range f.Requirements {
		if r.Source.Line == 118 && r.Via == nil {
			events = &f.Requirements[i]
		}
	}
	if events == nil {
		t.Fatal("no requirement from kernel.in:118")
	}
	if events.Req != nil || events.VCS == nil || events.VCS.Rev != "bmtcril/type_hints" ||
		events.VCS.URL != "https://github.com/openedx/openedx-events.git" ||
		events.Comment != "Open edX Events from Hooks Extension Framework (OEP-50)" {
		t.Errorf("openedx-events line: %+v (VCS %+v)", events, events.VCS)
	}
}

func TestEdxMissingConstraintFileIsAnErrorByDefault(t *testing.T) {
	_, err := ParseFile(filepath.Join(edxRoot, "requirements/edx/kernel.in"), WithWorkDir(edxRoot))
	var lineErr *Error
	if !errors.As(err, &lineErr) || lineErr.Source.Line != 14 ||
		lineErr.Source.File != filepath.Join(edxRoot, "requirements/constraints.txt") ||
		!errors.Is(err, os.ErrNotExist) {
		t.Fatalf("error %v, want one at constraints.txt:14 wrapping not-exist", err)
	}
}

func TestEdxVariantsKeepBothVCSForms(t *testing.T) {
	f := parseEdx(t, "variants/01f9729d/requirements/edx/base.txt")
	xblock := findReq(t, f.Requirements, "xblock")
	if !reflect.DeepEqual(xblock.Extras, []string{"django"}) || xblock.VCS == nil ||
		xblock.VCS.Rev != "add-required-attrs" || xblock.URL != "git+https://github.com/openedx/xblock.git@add-required-attrs" {
		t.Errorf("xblock[django] @ git+...: %+v (VCS %+v)", xblock, xblock.VCS)
	}
	contrib := findReq(t, f.Requirements, "xblocks-contrib")
	if contrib.VCS == nil || contrib.VCS.Egg != "xblocks-contrib" || contrib.VCS.Rev != "remove-legacy-mixins" {
		t.Errorf("xblocks-contrib: %+v (VCS %+v)", contrib, contrib.VCS)
	}

	sandbox := parseEdx(t, "variants/0f4edfb9/requirements/edx-sandbox/base.in")
	calc := findReq(t, sandbox.Requirements, "calc")
	if calc.Req.Specifiers.String() != "==0.4" || calc.VCS.Egg != "calc==0.4" {
		t.Errorf("calc from #egg=calc==0.4: %+v", calc)
	}
	abs, err := filepath.Abs(filepath.Join(edxRoot, "common/lib/sandbox-packages"))
	if err != nil {
		t.Fatal(err)
	}
	var local *Requirement
	for i, r := range sandbox.Requirements {
		if r.Editable && r.LocalPath == abs {
			local = &sandbox.Requirements[i]
		}
	}
	if local == nil {
		t.Errorf("no editable at %s in %+v", abs, sandbox.Requirements)
	}
}

// TestEdxMalformedEggFragment records what pip 23 does with line 71 of the
// 2020 github.in, "-e git+https://...@f5d6...#edx-enterprise==3.30": as an
// editable it fails ("Could not detect requirement name ..., please specify
// one with #egg=your_package_name"), and we fail with the place and the
// fix. Without "-e" pip ignores the fragment and installs an unnamed
// requirement; we still fail, because the fragment is a misspelt #egg=
// (see "url fragment without egg" in the differential corpus).
func TestEdxMalformedEggFragment(t *testing.T) {
	rel := "variants/000dbcc7/requirements/edx/github.in"
	path := filepath.Join(edxRoot, rel)
	_, err := ParseFile(path, WithWorkDir(edxRoot))
	want := path + `:71: -e git+https://github.com/edx/edx-enterprise.git@f5d6588993b8022e23bfbc0dcdc0654a5b3c9f2d#edx-enterprise==3.30: ` +
		`URL fragment "#edx-enterprise==3.30" has no egg=`
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), `add "#egg=NAME"`) {
		t.Fatalf("error %v\nwant prefix %s", err, want)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	plain := strings.Replace(string(data), "-e git+https://github.com/edx/edx-enterprise", "git+https://github.com/edx/edx-enterprise", 1)
	_, err = Parse(strings.NewReader(plain), "github.in", WithWorkDir(edxRoot))
	if err == nil || !strings.HasPrefix(err.Error(), `github.in:71: git+https://github.com/edx/edx-enterprise.git@f5d6588993b8022e23bfbc0dcdc0654a5b3c9f2d#edx-enterprise==3.30: URL fragment "#edx-enterprise==3.30" has no egg= and the requirement has no name; write "NAME @ git+https://github.com/edx/edx-enterprise.git@f5d6588993b8022e23bfbc0dcdc0654a5b3c9f2d" or add "#egg=NAME"`) {
		t.Errorf("without -e: %v", err)
	}

	if testing.Short() {
		return
	}
	python, lookErr := exec.LookPath("python3")
	if lookErr != nil {
		testenv.Need(t, fmt.Errorf("python3 is not installed: %w", lookErr))
	}
	// pip fails while reading the file, before it would reach the network.
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, "-m", "pip", "install", "--dry-run", "--no-index", "--disable-pip-version-check", "-r", abs)
	cmd.Dir = t.TempDir()
	// A dry run installs nothing, but Debian's pip refuses even that in an
	// externally managed Python (PEP 668) unless told.
	cmd.Env = append(piptest.Env(cmd.Dir), "PIP_BREAK_SYSTEM_PACKAGES=1")
	out, runErr := cmd.CombinedOutput()
	if runErr == nil || !strings.Contains(string(out), "Could not detect requirement name for 'git+https://github.com/edx/edx-enterprise.git@f5d6588993b8022e23bfbc0dcdc0654a5b3c9f2d#edx-enterprise==3.30'") {
		t.Errorf("pip install --dry-run: %v\n%s", runErr, out)
	}
}
