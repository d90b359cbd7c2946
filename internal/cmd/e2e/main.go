// Command e2e is 'make e2e': larder's three jobs for real, offline, with
// real components that nobody here wrote.
//
//	e2e prepare --cache DIR         make (or reuse) the Debian base image; needs Debian's mirror
//	e2e buildkit --cache DIR        build (or reuse) buildkitd and buildctl for the tests
//	e2e run --cache DIR --bin DIR   everything else, meant for a network namespace with only lo
//
// run serves the full-scale edx-platform workload from a fake index on
// loopback, locks, fetches and bakes it onto the Debian base, pushes it to
// Debian's docker-registry, pulls it back with skopeo, unpacks it with
// umoci and runs it with runc: a devstack-like `make test` (a venv, pip
// install -r requirements/edx/base.txt, a sample project's unittest suite)
// with no network at all. Then a bumped version installs through
// larder-index from an upstream inside the container, fails cleanly when
// that upstream is absent, and a refresh pushes exactly one new layer. It
// ends with a report, and exits non-zero when any check fails.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/larder-build/larder/internal/baseimage"
	"github.com/larder-build/larder/internal/buildkitd"
	"github.com/larder-build/larder/internal/dockerregistry"
	"github.com/larder-build/larder/internal/edxindex"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/runc"
	"github.com/larder-build/larder/resolver/tomldoc"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: e2e prepare|run [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "prepare":
		err = prepare(os.Args[2:])
	case "run":
		err = run(os.Args[2:])
	case "buildkit":
		f := flag.NewFlagSet("buildkit", flag.ExitOnError)
		cache := f.String("cache", "", "cache folder for the binaries")
		f.Parse(os.Args[2:])
		var d string
		if d, _, err = buildkitd.Binaries(*cache); err == nil {
			fmt.Printf("e2e: buildkitd ready: %s\n", d)
		}
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: FAILED:", err)
		os.Exit(1)
	}
}

func prepare(args []string) error {
	f := flag.NewFlagSet("prepare", flag.ExitOnError)
	cache := f.String("cache", "", "cache folder for the base image")
	f.Parse(args)
	start := time.Now()
	dir, err := baseimage.Debootstrap(context.Background(), *cache, os.Stderr)
	if err != nil {
		return err
	}
	fmt.Printf("e2e: Debian base image ready in %s (%.0fs)\n", dir, time.Since(start).Seconds())
	return nil
}

// e2e is one run's state.
type e2e struct {
	ctx    context.Context
	bin    string
	work   string
	report report
	pins   map[string]string
}

type stage struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	Detail  string  `json:"detail,omitempty"`
}

type report struct {
	Stages          []stage  `json:"stages"`
	ImageBytes      int64    `json:"image_bytes"`
	Layers          int      `json:"layers"`
	Packages        int      `json:"packages_installed_offline"`
	BumpedUpstream  bool     `json:"bumped_version_through_upstream"`
	UpstreamAbsent  bool     `json:"upstream_absent_fails_cleanly"`
	RefreshBlobs    []string `json:"refresh_new_blobs"`
	RefreshBytes    int64    `json:"refresh_bytes_pushed"`
	RefreshedOnline bool     `json:"refreshed_image_installs_offline"`
}

// bump is the requirement the sample project moves to a version that is
// not baked.
const (
	bumpProject = "six"
	bumpVersion = "1.17.0.post1"
)

// sampled are the projects the sample project's tests import.
var sampled = []string{"django", "requests", "celery", "lxml", "numpy", "pillow", "pyyaml", "boto3", "cryptography", "six", "text-unidecode", "mysqlclient"}

func run(args []string) error {
	f := flag.NewFlagSet("run", flag.ExitOnError)
	cache := f.String("cache", "", "cache folder holding the base image (from prepare)")
	bin := f.String("bin", "bin", "folder of larder and larder-index-linux-amd64")
	work := f.String("work", "", "work folder (default: a new temporary one)")
	scale := f.Float64("scale", 1, "size of the edx workload (1: about 300 MB)")
	reportPath := f.String("report", "", "also write the report as JSON here")
	timeout := f.Duration("timeout", 30*time.Minute, "give up after this long")
	keep := f.Bool("keep", false, "keep the temporary work folder (it is removed at the end, failed or not)")
	f.Parse(args)
	// An interrupt cancels the run, so that the work folder still goes.
	sctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(sctx, *timeout)
	defer cancel()
	base, ok := baseimage.Cached(*cache)
	if !ok {
		return fmt.Errorf("no base image in %s: run 'e2e prepare' first", *cache)
	}
	if err := runc.Available(); err != nil {
		return err
	}
	for _, tool := range []string{"skopeo", "docker-registry"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed", tool)
		}
	}
	if err := checkOffline(); err != nil {
		return err
	}
	if *work == "" {
		d, err := os.MkdirTemp("", "larder-e2e-")
		if err != nil {
			return err
		}
		*work = d
		if *keep {
			fmt.Fprintf(os.Stderr, "e2e: keeping the work folder %s\n", d)
		} else {
			defer os.RemoveAll(d)
		}
	}
	abs, err := filepath.Abs(*bin)
	if err != nil {
		return err
	}
	e := &e2e{ctx: ctx, bin: abs, work: *work}
	err = e.all(base, *scale)
	e.print(os.Stdout)
	if *reportPath != "" {
		b, _ := json.MarshalIndent(e.report, "", "  ")
		os.WriteFile(*reportPath, b, 0o644)
	}
	return err
}

// checkOffline makes sure nothing can leave the machine: the run belongs
// in a network namespace with only loopback.
func checkOffline() error {
	ifs, err := net.Interfaces()
	if err != nil {
		return err
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback == 0 && i.Flags&net.FlagUp != 0 {
			return fmt.Errorf("interface %s is up: run inside 'unshare --net --fork' with only lo up (make e2e does)", i.Name)
		}
	}
	return nil
}

func (e *e2e) timed(name string, fn func() (string, error)) error {
	start := time.Now()
	fmt.Printf("e2e: %s ...\n", name)
	detail, err := fn()
	s := stage{Name: name, Seconds: time.Since(start).Seconds(), Detail: detail}
	e.report.Stages = append(e.report.Stages, s)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	fmt.Printf("e2e: %s: ok in %.1fs %s\n", name, s.Seconds, detail)
	return nil
}

func (e *e2e) all(base string, scale float64) error {
	var idxURL string
	var upstreamFiles []*pypitest.File
	if err := e.timed("fake index (edx workload)", func() (string, error) {
		var err error
		idxURL, upstreamFiles, err = e.serveIndex(scale)
		return idxURL, err
	}); err != nil {
		return err
	}
	var reg *dockerregistry.Registry
	if err := e.timed("docker-registry", func() (string, error) {
		var err error
		reg, err = dockerregistry.Start(filepath.Join(e.work, "registry"))
		if err != nil {
			return "", err
		}
		return reg.Host, nil
	}); err != nil {
		return err
	}
	defer reg.Stop()
	out := "docker://" + reg.Host + "/edx/devstack:e2e"
	if err := e.writeProject(idxURL, base, out); err != nil {
		return err
	}
	if err := e.timed("larder lock", func() (string, error) { return e.larder("lock") }); err != nil {
		return err
	}
	if err := e.timed("larder fetch", func() (string, error) { return e.larder("fetch") }); err != nil {
		return err
	}
	var first bakeReport
	if err := e.timed("larder bake (push)", func() (string, error) {
		return e.bake(&first)
	}); err != nil {
		return err
	}
	for _, l := range first.Images[0].Layers {
		e.report.ImageBytes += l.Size
	}
	e.report.Layers = len(first.Images[0].Layers)

	bundle, err := e.pull("pull and unpack", out, "first")
	if err != nil {
		return err
	}
	if err := e.timed("offline make test in runc", func() (string, error) {
		return e.makeTest(bundle, "base.txt", "sample", "offline")
	}); err != nil {
		return err
	}
	// The same with the lock exported as hashed requirements: no resolver,
	// every file hash-checked, forks taken by name.
	if err := e.timed("offline install of the exported lock (--no-deps)", func() (string, error) {
		if _, err := e.larder("export", "--requirements", filepath.Join(e.work, "project", "requirements", "edx", "base.lock.txt")); err != nil {
			return "", err
		}
		return e.makeTest(bundle, "base.lock.txt", "sample", "locked", "--no-deps")
	}); err != nil {
		return err
	}
	// Absent first: larder-index caches what falls through, and the runs
	// share the unpacked image.
	if err := e.timed("upstream absent", func() (string, error) { return e.upstreamAbsent(bundle) }); err != nil {
		return err
	}
	e.report.UpstreamAbsent = true
	if err := e.timed("bumped version through larder-index's upstream", func() (string, error) {
		return e.bumpThroughUpstream(bundle, upstreamFiles)
	}); err != nil {
		return err
	}
	e.report.BumpedUpstream = true

	// The refresh: bump the requirement, lock, fetch, bake from the pushed image.
	if err := e.bumpRequirements(); err != nil {
		return err
	}
	before := reg.Blobs()
	var second bakeReport
	if err := e.timed("refresh: larder lock, fetch, bake --from the pushed image", func() (string, error) {
		if _, err := e.larder("lock"); err != nil {
			return "", err
		}
		if _, err := e.larder("fetch"); err != nil {
			return "", err
		}
		return e.bake(&second, "--from", out)
	}); err != nil {
		return err
	}
	for d := range reg.Blobs() {
		if !before[d] {
			e.report.RefreshBlobs = append(e.report.RefreshBlobs, d)
		}
	}
	e.report.RefreshBytes = second.Write.Bytes
	if err := checkRefresh(first, second, e.report.RefreshBlobs); err != nil {
		return err
	}
	bundle2, err := e.pull("pull and unpack the refreshed image", out, "second")
	if err != nil {
		return err
	}
	if err := e.timed("offline make test in the refreshed image", func() (string, error) {
		return e.makeTest(bundle2, "base-bumped.txt", "sample-bumped", "refreshed")
	}); err != nil {
		return err
	}
	e.report.RefreshedOnline = true
	return nil
}

// serveIndex serves the edx workload, with the bumped release added, on
// loopback, and returns its URL and the bumped release's files.
func (e *e2e) serveIndex(scale float64) (string, []*pypitest.File, error) {
	idx, w, err := edxindex.Generate(edxindex.Options{Scale: scale})
	if err != nil {
		return "", nil, err
	}
	e.pins = w.Pins
	var bumped []*pypitest.File
	for i := range idx.Projects {
		p := &idx.Projects[i]
		if pypitest.Normalize(p.Name) != bumpProject {
			continue
		}
		for _, r := range p.Releases {
			if r.Version == w.Pins[bumpProject] {
				nr := r
				nr.Version, nr.UploadTime, nr.Yanked = bumpVersion, time.Time{}, ""
				p.Releases = append(p.Releases, nr)
				for _, wh := range nr.Wheels {
					f, err := pypitest.BuildWheel(p, &nr, wh)
					if err != nil {
						return "", nil, err
					}
					bumped = append(bumped, f)
				}
				break
			}
		}
	}
	if len(bumped) == 0 {
		return "", nil, fmt.Errorf("the workload has no %s %s to bump", bumpProject, w.Pins[bumpProject])
	}
	srv := pypitest.New(idx)
	if err := srv.Err(); err != nil {
		return "", nil, err
	}
	// Build every file now, so that the lock's time is larder's, not the
	// fake index's (it makes files on first request).
	work := make(chan string)
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			var first error
			for name := range work {
				if _, err := srv.Files(name); err != nil && first == nil {
					first = err
				}
			}
			errs <- first
		}()
	}
	for _, p := range idx.Projects {
		work <- p.Name
	}
	close(work)
	for range 2 {
		if err := <-errs; err != nil {
			return "", nil, err
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go http.Serve(l, srv)
	return "http://" + l.Addr().String() + "/simple/", bumped, nil
}

// writeProject writes larder.toml, the requirement files and the sample
// project into the work folder (mounted read-only in the containers).
func (e *e2e) writeProject(idxURL, base, out string) error {
	src, err := os.ReadFile(filepath.Join(moduleRoot(), "testdata", "edxindex", "requirements", "edx", "base.txt"))
	if err != nil {
		return err
	}
	proj := filepath.Join(e.work, "project")
	files := map[string]string{
		"requirements/edx/base.txt": string(src),
		"larder.toml": fmt.Sprintf(`[project]
requirements = ["requirements/edx/base.txt"]
python = "/usr/bin/python3"

[index]
url = %s

[[target]]
platform = "linux/amd64"
python = "3.11.2"
libc = "glibc2.36"

[image]
base = %s
output = %s
`, tomldoc.Quote(idxURL), tomldoc.Quote("oci:"+base+":"+baseimage.Tag), tomldoc.Quote(out)),
		"sample/test_installed.py": sampleTest(e.pins),
	}
	bumpedPins := map[string]string{}
	for k, v := range e.pins {
		bumpedPins[k] = v
	}
	bumpedPins[bumpProject] = bumpVersion
	files["sample-bumped/test_installed.py"] = sampleTest(bumpedPins)
	re := regexp.MustCompile(`(?m)^` + bumpProject + `==\S+`)
	files["requirements/edx/base-bumped.txt"] = re.ReplaceAllString(string(src), bumpProject+"=="+bumpVersion)
	for name, body := range files {
		p := filepath.Join(proj, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// bumpRequirements points larder.toml at the bumped requirements.
func (e *e2e) bumpRequirements() error {
	p := filepath.Join(e.work, "project", "larder.toml")
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	return os.WriteFile(p, bytes.Replace(b, []byte(`"requirements/edx/base.txt"`), []byte(`"requirements/edx/base-bumped.txt"`), 1), 0o644)
}

// sampleTest is a unittest module that imports the sampled projects and
// checks their versions.
func sampleTest(pins map[string]string) string {
	var b strings.Builder
	b.WriteString("\"\"\"A devstack-like test suite: the installed packages are the pinned ones.\"\"\"\nimport importlib\nimport unittest\n\nEXPECTED = {\n")
	for _, p := range sampled {
		fmt.Fprintf(&b, "    %q: %q,\n", pypitest.FilenameName(p), pins[p])
	}
	b.WriteString("}\n\n\nclass InstalledVersions(unittest.TestCase):\n    def test_every_sampled_package_imports_at_its_pin(self):\n        for module, version in EXPECTED.items():\n            with self.subTest(module=module):\n                self.assertEqual(importlib.import_module(module).__version__, version)\n\n\nif __name__ == \"__main__\":\n    unittest.main()\n")
	return b.String()
}

// larder runs a larder command in the project and returns its last line.
func (e *e2e) larder(args ...string) (string, error) {
	cmd := exec.CommandContext(e.ctx, filepath.Join(e.bin, "larder"), append(args, "--no-progress")...)
	cmd.Dir = filepath.Join(e.work, "project")
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+filepath.Join(e.work, "cache"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("larder %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	return lines[len(lines)-1], nil
}

type bakeReport struct {
	Digest    string `json:"digest"`
	Refreshed bool   `json:"refreshed"`
	Images    []struct {
		Layers []struct {
			What, State, Digest string
			Size                int64
		} `json:"layers"`
	} `json:"images"`
	Write struct {
		Blobs int   `json:"blobs_written"`
		Bytes int64 `json:"bytes_written"`
	} `json:"write"`
}

func (e *e2e) bake(rep *bakeReport, args ...string) (string, error) {
	cmd := exec.CommandContext(e.ctx, filepath.Join(e.bin, "larder"), append([]string{"bake", "--json"}, args...)...)
	cmd.Dir = filepath.Join(e.work, "project")
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+filepath.Join(e.work, "cache"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("larder bake: %w\n%s", err, stderr.String())
	}
	if err := json.Unmarshal(out, rep); err != nil || len(rep.Images) != 1 {
		return "", fmt.Errorf("larder bake --json: %v\n%s", err, out)
	}
	return fmt.Sprintf("%s, %d layers, %d blobs (%.1f MB) pushed", rep.Digest[:19], len(rep.Images[0].Layers), rep.Write.Blobs, float64(rep.Write.Bytes)/1e6), nil
}

// pull copies the pushed image into an OCI layout with skopeo, checks the
// digest, and unpacks it with umoci.
func (e *e2e) pull(name, ref, tag string) (*runc.Bundle, error) {
	var b *runc.Bundle
	err := e.timed(name, func() (string, error) {
		layout := filepath.Join(e.work, "pulled")
		out, err := exec.CommandContext(e.ctx, "skopeo", "copy", "--src-tls-verify=false", ref, "oci:"+layout+":"+tag).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("skopeo copy: %w\n%s", err, out)
		}
		if b, err = runc.Unpack(e.ctx, layout, tag, filepath.Join(e.work, "bundle-"+tag)); err != nil {
			return "", err
		}
		return "skopeo copy + umoci unpack", nil
	})
	return b, err
}

// container runs a command in the bundle through the image's entrypoint
// (or the given one), with the project mounted read-only at /work.
func (e *e2e) container(b *runc.Bundle, name string, entrypoint []string, script string, extra ...runc.Mount) (int, string, error) {
	mounts := append([]runc.Mount{{Source: filepath.Join(e.work, "project"), Destination: "/work", ReadOnly: true}}, extra...)
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(e.ctx, 15*time.Minute)
	defer cancel()
	code, err := b.Run(ctx, name, entrypoint, []string{"sh", "-c", script}, mounts, &out)
	return code, out.String(), err
}

func (e *e2e) makeTest(b *runc.Bundle, reqs, sample, name string, pipFlags ...string) (string, error) {
	// Every run gets its own venv: runs share the unpacked root file system.
	install := append(append([]string{"install", "-q"}, pipFlags...), "-r", "/work/requirements/edx/"+reqs)
	script := "set -e; python3 -m venv /v-" + name + "; /v-" + name + "/bin/pip " + strings.Join(install, " ") +
		"; /v-" + name + "/bin/pip list --format=freeze | wc -l > /tmp/count; echo INSTALLED=$(cat /tmp/count)" +
		"; cd /work/" + sample + " && /v-" + name + "/bin/python -m unittest -v test_installed"
	code, out, err := e.container(b, "e2e-"+name, nil, script)
	if err != nil || code != 0 {
		return "", fmt.Errorf("exit %d, %v\n%s", code, err, tail(out, 40))
	}
	if !strings.Contains(out, "OK") {
		return "", fmt.Errorf("the sample project's tests did not pass:\n%s", tail(out, 40))
	}
	m := regexp.MustCompile(`INSTALLED=(\d+)`).FindStringSubmatch(out)
	if m != nil {
		fmt.Sscan(m[1], &e.report.Packages)
	}
	return fmt.Sprintf("%s packages installed with no network, sample tests OK", m[1]), nil
}

// upstreamTree writes a static simple index of files, as python3 -m
// http.server serves it.
func (e *e2e) upstreamTree(files []*pypitest.File) (string, error) {
	root := filepath.Join(e.work, "upstream")
	for _, f := range files {
		dir := filepath.Join(root, "simple", pypitest.Normalize(f.Project))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
		if err := os.MkdirAll(filepath.Join(root, "files"), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(root, "files", f.Filename), f.Data, 0o644); err != nil {
			return "", err
		}
		page := fmt.Sprintf("<!DOCTYPE html>\n<html><body>\n<a href=\"../../files/%s#sha256=%s\">%s</a>\n</body></html>\n", f.Filename, f.SHA256, f.Filename)
		if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte(page), 0o644); err != nil {
			return "", err
		}
	}
	return root, os.WriteFile(filepath.Join(root, "simple", "index.html"), []byte("<html><body></body></html>\n"), 0o644)
}

// bumpThroughUpstream serves the bumped release from a static upstream
// inside the container and installs it through larder-index.
func (e *e2e) bumpThroughUpstream(b *runc.Bundle, files []*pypitest.File) (string, error) {
	root, err := e.upstreamTree(files)
	if err != nil {
		return "", err
	}
	entry := []string{"/usr/local/bin/larder-index", "exec", "--upstream", "http://127.0.0.1:8081/simple/", "--"}
	script := "python3 -m http.server 8081 --bind 127.0.0.1 --directory /upstream >/tmp/http.log 2>&1 &" +
		" for i in $(seq 50); do python3 -c 'import urllib.request as u; u.urlopen(\"http://127.0.0.1:8081/simple/\")' 2>/dev/null && break; sleep 0.2; done;" +
		" set -e; python3 -m venv /v-bump; /v-bump/bin/pip install -q " + bumpProject + "==" + bumpVersion + " django==" + e.pins["django"] +
		"; /v-bump/bin/python -c 'import " + bumpProject + " as m; print(\"BUMPED\", m.__version__)'"
	code, out, err := e.container(b, "e2e-bump", entry, script, runc.Mount{Source: root, Destination: "/upstream", ReadOnly: true})
	if err != nil || code != 0 || !strings.Contains(out, "BUMPED "+bumpVersion) {
		return "", fmt.Errorf("exit %d, %v\n%s", code, err, tail(out, 40))
	}
	return bumpProject + " " + bumpVersion + " installed through larder-index from the upstream", nil
}

// upstreamAbsent asks for the bumped version with nothing on the upstream
// port: pip's usual error, larder-index says why, and baked packages still
// install at once.
func (e *e2e) upstreamAbsent(b *runc.Bundle) (string, error) {
	entry := []string{"/usr/local/bin/larder-index", "exec", "--upstream", "http://127.0.0.1:8082/simple/", "--"}
	script := "python3 -m venv /v-absent; /v-absent/bin/pip install " + bumpProject + "==" + bumpVersion + "; echo PIP_EXIT=$?;" +
		" s=$(date +%s); /v-absent/bin/pip install -q django==" + e.pins["django"] + " requests==" + e.pins["requests"] +
		" && echo BAKED_OK seconds=$(( $(date +%s) - s ))"
	code, out, err := e.container(b, "e2e-absent", entry, script)
	if err != nil || code != 0 {
		return "", fmt.Errorf("exit %d, %v\n%s", code, err, tail(out, 40))
	}
	for _, want := range []string{"PIP_EXIT=1", "No matching distribution found for " + bumpProject + "==" + bumpVersion, "upstream unreachable", "BAKED_OK"} {
		if !strings.Contains(out, want) {
			return "", fmt.Errorf("output lacks %q:\n%s", want, tail(out, 40))
		}
	}
	m := regexp.MustCompile(`BAKED_OK seconds=(\d+)`).FindStringSubmatch(out)
	return "pip: no matching distribution; larder-index: upstream unreachable; baked packages installed in " + m[1] + "s", nil
}

// checkRefresh asserts that exactly the top layer changed and that the
// registry received only it, a config and a manifest.
func checkRefresh(first, second bakeReport, added []string) error {
	a, b := first.Images[0].Layers, second.Images[0].Layers
	if !second.Refreshed {
		return errors.New("refresh: the second bake did not keep the previous layout")
	}
	if len(a) != len(b) {
		return fmt.Errorf("refresh: %d layers, then %d", len(a), len(b))
	}
	for i := range a {
		if top := i == len(a)-1; (a[i].Digest == b[i].Digest) == top {
			return fmt.Errorf("refresh: layer %d (%s) changed %v", i, b[i].What, !top)
		}
	}
	if len(added) != 3 {
		return fmt.Errorf("refresh: the registry got %d new blobs %v, want the delta, a config and a manifest", len(added), added)
	}
	top := b[len(b)-1].Digest
	for _, d := range []string{top, second.Digest} {
		found := false
		for _, x := range added {
			found = found || x == d
		}
		if !found {
			return fmt.Errorf("refresh: %s is not among the new blobs %v", d, added)
		}
	}
	return nil
}

func (e *e2e) print(w io.Writer) {
	r := e.report
	fmt.Fprintln(w, "\n== larder end-to-end report")
	for _, s := range r.Stages {
		fmt.Fprintf(w, "  %-58s %7.1fs  %s\n", s.Name, s.Seconds, s.Detail)
	}
	fmt.Fprintf(w, "  image: %d layers, %.1f MB compressed\n", r.Layers, float64(r.ImageBytes)/1e6)
	fmt.Fprintf(w, "  offline install of the full closure: %v (%d packages)\n", r.Packages > 0, r.Packages)
	fmt.Fprintf(w, "  bumped version through the upstream: %v; upstream absent fails cleanly: %v\n", r.BumpedUpstream, r.UpstreamAbsent)
	fmt.Fprintf(w, "  refresh pushed %d new blobs (%.1f MB): one layer, a config and a manifest: %v\n", len(r.RefreshBlobs), float64(r.RefreshBytes)/1e6, len(r.RefreshBlobs) == 3)
	fmt.Fprintf(w, "  refreshed image installs offline: %v\n", r.RefreshedOnline)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// moduleRoot is the repository, where testdata lives: the working folder
// of 'make e2e'.
func moduleRoot() string {
	wd, _ := os.Getwd()
	return wd
}
