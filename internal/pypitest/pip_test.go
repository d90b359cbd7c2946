package pypitest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/piptest"
)

// pip runs a real pip against a fake index, isolated from the machine's pip
// configuration (find-links, certificates, caches) and from any proxy.
type pip struct{ *piptest.Pip }

func newPip(t *testing.T, python string) *pip { return &pip{piptest.New(t, python)} }

// run runs "python -m pip ARGS" with a deadline and returns its combined output.
func (p *pip) run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.Python, append([]string{"-m", "pip"}, args...)...)
	cmd.Env = p.Env
	cmd.Dir = p.Dir
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("pip %s: timed out\n%s", strings.Join(args, " "), out)
	}
	return string(out), err
}

func (p *pip) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := p.run(t, args...)
	if err != nil {
		t.Fatalf("pip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// downloadPinned has pip download f alone from s with --require-hashes, by
// the requirement line req (a format taking f's sha256) and pip's
// arguments args, checks the bytes pip saved, and returns the folder.
func (p *pip) downloadPinned(t *testing.T, s *Server, f *File, req string, args ...string) string {
	t.Helper()
	reqFile := writeFile(t, filepath.Join(p.Dir, "req.txt"), fmt.Sprintf(req, f.SHA256))
	dest := filepath.Join(p.Dir, "dl")
	args = append([]string{"download", "--no-input", "--timeout", "10", "--no-deps", "--require-hashes"}, args...)
	p.mustRun(t, append(args, "--index-url", s.URL(), "-d", dest, "-r", reqFile)...)
	got, err := os.ReadFile(filepath.Join(dest, f.Filename))
	if err != nil || string(got) != string(f.Data) {
		t.Fatalf("downloaded %s: %v (equal bytes: %t)", f.Filename, err, string(got) == string(f.Data))
	}
	return dest
}

func writeFile(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func fileNamed(t *testing.T, s *Server, project, filename string) *File {
	t.Helper()
	fs, err := s.Files(project)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Filename == filename {
			return f
		}
	}
	t.Fatalf("no file %s in %s", filename, project)
	return nil
}

func TestPipDownloadsWheelWithRequiredHashes(t *testing.T) {
	t.Parallel()
	p := newPip(t, "python3")
	s := Start(t, loadTree(t))
	whl := fileNamed(t, s, "Web.Client", "web_client-2.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
	dest := p.downloadPinned(t, s, whl, "Web.Client==2.0 --hash=sha256:%s\n", "--only-binary", ":all:",
		"--platform", "manylinux2014_x86_64", "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311")
	// One page, one file: no redirect for the non-normalized name in the
	// requirement, and the wheel is fetched whole once.
	if n := s.Requests("/simple/web-client/"); n != 1 {
		t.Errorf("page fetched %d times; counts %v", n, s.Counts())
	}
	if n := s.Requests("/files/" + whl.Filename); n != 1 {
		t.Errorf("wheel fetched %d times; counts %v", n, s.Counts())
	}

	// The downloaded wheel installs, and its module imports.
	target := filepath.Join(p.Dir, "target")
	p.mustRun(t, "install", "--no-input", "--no-index", "--no-deps", "--target", target, filepath.Join(dest, whl.Filename))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.Python, "-c", "import web_client; print(web_client.__version__)")
	cmd.Env = append(p.Env, "PYTHONPATH="+target)
	if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "2.0" {
		t.Errorf("importing the installed wheel: %v\n%s", err, out)
	}
}

func TestPipDownloadsSdistWithRequiredHashes(t *testing.T) {
	t.Parallel()
	// pip prepares an sdist's metadata even with --no-deps, and only the
	// system Python has both setuptools and wheel for --no-build-isolation.
	p := newPip(t, "/usr/bin/python3")
	s := Start(t, loadTree(t))
	sd := fileNamed(t, s, "web-client", "web_client-2.0.tar.gz")
	p.downloadPinned(t, s, sd, "web_client==2.0 \\\n    --hash=sha256:%s\n", "--no-binary", ":all:", "--no-build-isolation")
}

// report is the part of pip's installation report the tests read.
type report struct {
	Install []struct {
		Metadata struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"metadata"`
		Requested bool `json:"requested"`
	} `json:"install"`
}

func TestPipResolvesDependencyTree(t *testing.T) {
	want := []string{"Web.Client==2.0", "app==1.0", "dep-a==2.0", "fast-lib==0.5", "shared==1.1"}
	for _, tt := range []struct {
		name   string
		opts   []Option
		python string
	}{
		{"html-only", []Option{WithMode(HTMLOnly)}, "python3"},
		{"json-only", []Option{WithMode(JSONOnly)}, "python3"},
		{"json-without-metadata", []Option{WithMode(JSONOnly), WithoutAnyMetadata()}, "python3"},
		// pip 23.0 crashes on any "dist-info-metadata" JSON key (hence PEP
		// 714); it knows no "core-metadata", so it downloads whole wheels.
		{"json-only pip 23.0", []Option{WithMode(JSONOnly)}, "/usr/bin/python3"},
		{"html-only pip 23.0", []Option{WithMode(HTMLOnly)}, "/usr/bin/python3"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newPip(t, tt.python)
			s := Start(t, loadTree(t), tt.opts...)
			out := filepath.Join(p.Dir, "report.json")
			p.mustRun(t, "install", "--no-input", "--timeout", "10", "--dry-run", "--ignore-installed", "--quiet",
				"--report", out, "--index-url", s.URL(), "app[speed]")
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var r report
			if err := json.Unmarshal(data, &r); err != nil {
				t.Fatalf("reading report: %v", err)
			}
			var got []string
			for _, i := range r.Install {
				got = append(got, i.Metadata.Name+"=="+i.Metadata.Version)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("pip resolved %v, want %v", got, want)
			}
			counts := s.Counts()
			if n := counts["/simple/old-only/"]; n != 0 {
				t.Errorf("fetched the page of a dependency whose marker is false %d times", n)
			}
			var metadata, wheels int
			for path, n := range counts {
				switch {
				case strings.HasSuffix(path, ".whl.metadata"):
					metadata += n
				case strings.HasSuffix(path, ".whl"):
					wheels += n
				}
			}
			t.Logf("%s: %d requests, %d metadata files, %d wheels: %v", tt.name, s.TotalRequests(), metadata, wheels, counts)
			// pip before 23.1 knows no "core-metadata" in JSON pages: it
			// downloads whole wheels there (a fresh Debian 12 has 23.0.1 only).
			coreMetadata, err := piptest.AtLeast(p.Python, 23, 1)
			if err != nil {
				t.Fatal(err)
			}
			if tt.name == "json-without-metadata" || (!coreMetadata && strings.HasPrefix(tt.name, "json-only")) {
				if metadata != 0 || wheels == 0 {
					t.Errorf("without metadata pip fetched %d metadata files, %d wheels", metadata, wheels)
				}
			} else if metadata == 0 {
				t.Error("pip never used the PEP 658 metadata")
			}
		})
	}
}

func TestPipWheelBuildsGeneratedSdistOffline(t *testing.T) {
	t.Parallel()
	p := newPip(t, "/usr/bin/python3")
	s := Start(t, loadTree(t))
	dest := filepath.Join(p.Dir, "wheels")
	p.mustRun(t, "wheel", "--no-input", "--timeout", "10", "--no-build-isolation", "--no-deps", "--no-binary", ":all:",
		"--index-url", s.URL(), "-w", dest, "app==1.0")
	built, err := filepath.Glob(filepath.Join(dest, "*.whl"))
	if err != nil || len(built) != 1 {
		t.Fatalf("built %v, %v", built, err)
	}
	data, err := os.ReadFile(built[0])
	if err != nil {
		t.Fatal(err)
	}
	var meta string
	for name, b := range readZip(t, data) {
		if strings.HasSuffix(name, ".dist-info/METADATA") {
			meta = string(b)
		}
	}
	// setuptools rewrites requirement strings, so compare what they name.
	for _, want := range []string{"Name: app\n", "Version: 1.0\n", "Provides-Extra: speed\n", "Requires-Dist: dep-a", "Requires-Dist: old-only", "Requires-Dist: Web.Client", "Requires-Dist: fast-lib ; extra == 'speed'"} {
		if !strings.Contains(meta, want) {
			t.Errorf("built METADATA lacks %q:\n%s", want, meta)
		}
	}
	if n := strings.Count(meta, "Requires-Dist:"); n != 4 {
		t.Errorf("built METADATA has %d Requires-Dist, want 4:\n%s", n, meta)
	}
	if s.Requests("/files/app-1.0.tar.gz") != 1 {
		t.Errorf("counts %v", s.Counts())
	}
}

func TestPipObservesKnobs(t *testing.T) {
	whl := "dep_a-2.0-py3-none-any.whl"
	f := fileNamed(t, New(loadTree(t)), "dep-a", whl)
	tests := []struct {
		name     string
		opts     []Option
		fail     []string // fragments of pip's error output; none for success
		requests int      // requests for the project page
	}{
		{"wrong hash", []Option{WithWrongHash(whl)}, []string{"DO NOT MATCH THE HASHES", "Expected sha256 " + wrongDigest(f.SHA256), "Got        " + f.SHA256}, 1},
		// pip does not enforce Content-Length: the short file fails its hash.
		{"truncated body", []Option{WithTruncate(whl, 1000)}, []string{"DO NOT MATCH THE HASHES", "Expected sha256 " + f.SHA256, "Got        " + hexSHA256(f.Data[:1000])}, 1},
		{"500 then retried", []Option{WithFailRequest(1, Fail500)}, nil, 2},
		{"reset then retried", []Option{WithFailRequest(1, FailReset)}, nil, 2},
		{"wrong metadata hash", []Option{WithWrongHash(whl + ".metadata")}, []string{"DO NOT MATCH THE HASHES", "Expected sha256 " + wrongDigest(f.MetadataSHA256), "Got        " + f.MetadataSHA256}, 1},
		{"page always 500", []Option{WithFailPath("/simple/dep-a/", Fail500)}, []string{"No matching distribution found for dep-a==2.0"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newPip(t, "python3")
			opts := tt.opts
			if tt.name == "wrong metadata hash" {
				// pip before 23.1 reads PEP 658 metadata from HTML pages only
				// (it knows no JSON "core-metadata").
				if ok, err := piptest.AtLeast(p.Python, 23, 1); err != nil {
					t.Fatal(err)
				} else if !ok {
					opts = append(opts, WithMode(HTMLOnly))
				}
			}
			s := Start(t, loadTree(t), opts...)
			out, err := p.run(t, "download", "--no-input", "--timeout", "10", "--retries", "1", "--no-deps",
				"--index-url", s.URL(), "-d", filepath.Join(p.Dir, "dl"), "dep-a==2.0")
			if len(tt.fail) == 0 && err != nil {
				t.Errorf("pip failed: %v\n%s", err, out)
			}
			if len(tt.fail) > 0 && err == nil {
				t.Errorf("pip succeeded:\n%s", out)
			}
			for _, want := range tt.fail {
				if !strings.Contains(out, want) {
					t.Errorf("pip output lacks %q:\n%s", want, out)
				}
			}
			if n := s.Requests("/simple/dep-a/"); n != tt.requests {
				t.Errorf("page requested %d times, want %d; counts %v", n, tt.requests, s.Counts())
			}
		})
	}
}
