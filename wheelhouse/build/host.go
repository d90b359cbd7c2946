package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/larder-build/larder/resolver/gitsrc"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/larder-build/larder/internal/pythonenv"
	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/pep440"
	"github.com/larder-build/larder/resolver/pep517"
	"github.com/larder-build/larder/wheelhouse"
)

// logTailLines is how much of a failed build's log an Error carries.
const logTailLines = 30

// Host builds wheels with pip and a Python interpreter on this machine. It
// is safe for concurrent use; concurrent builds of the same source wait for
// one another and share the result.
type Host struct {
	opts options

	probeMu sync.Mutex
	interp  *interpreter

	keysMu sync.Mutex
	keys   map[string]*sync.Mutex

	// builds counts pip runs that produced a wheel, so tests can tell a
	// cache hit from a build.
	builds atomic.Int64
}

var _ Builder = (*Host)(nil)

// interpreter is what a probe learned about the Python that runs pip.
type interpreter struct {
	exe     string // sys.executable: runs without a shell shim or PATH
	version string // "CPython 3.11.7", part of every cache key
}

// NewHost returns a Host configured by opts. The interpreter must exist;
// whether it has pip is found out by the first Build.
func NewHost(opts ...Option) (*Host, error) {
	h := &Host{opts: options{python: "python3"}, keys: map[string]*sync.Mutex{}}
	for _, o := range opts {
		if err := o(&h.opts); err != nil {
			return nil, fmt.Errorf("configuring the host builder: %w", err)
		}
	}
	if _, err := exec.LookPath(h.opts.python); err != nil {
		return nil, fmt.Errorf("finding python %q: %w", h.opts.python, err)
	}
	if h.opts.cacheDir == "" {
		d, err := defaultCacheDir()
		if err != nil {
			return nil, err
		}
		h.opts.cacheDir, h.opts.gitCacheDir = d, filepath.Dir(d)
	}
	abs, err := filepath.Abs(h.opts.cacheDir)
	if err != nil {
		return nil, fmt.Errorf("cache dir %q: %w", h.opts.cacheDir, err)
	}
	h.opts.cacheDir = abs
	if h.opts.gitCacheDir == "" {
		h.opts.gitCacheDir = abs
	}
	if h.opts.logDir == "" {
		h.opts.logDir = filepath.Join(abs, "logs")
	}
	if h.opts.logDir, err = filepath.Abs(h.opts.logDir); err != nil {
		return nil, fmt.Errorf("log dir: %w", err)
	}
	return h, nil
}

// Build builds req into a wheel that fits req.Target, or takes it from the
// cache, and copies it into outDir.
func (h *Host) Build(ctx context.Context, req Request, outDir string) (string, error) {
	if err := validate(req); err != nil {
		return "", err
	}
	fail := func(err error) (string, error) {
		var be *Error
		if errors.As(err, &be) {
			return "", err
		}
		return "", &Error{Project: req.Project, Version: req.version(), Err: err}
	}
	interp, err := h.interpreter(ctx)
	if err != nil {
		return fail(err)
	}
	source, err := sourceID(req)
	if err != nil {
		return fail(err)
	}
	pureKey := cacheKey(source, interp.version, "")
	targetKey := cacheKey(source, interp.version, req.Target.String())

	unlock := h.lock(pureKey)
	defer unlock()
	wheel, err := h.cached(req, pureKey, targetKey)
	if err != nil {
		return fail(err)
	}
	if wheel == "" {
		if wheel, err = h.build(ctx, req, interp, pureKey, targetKey); err != nil {
			return fail(err)
		}
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fail(err)
	}
	dst := filepath.Join(outDir, filepath.Base(wheel))
	if err := wheelhouse.CopyFileAtomic(wheel, dst, true); err != nil {
		return fail(fmt.Errorf("copying %s into %s: %w", filepath.Base(wheel), outDir, err))
	}
	return dst, nil
}

// version is what error messages call the request's version.
func (r Request) version() string {
	if r.VCS != nil && r.Version == "" {
		if len(r.VCS.Commit) >= 12 {
			return "@" + r.VCS.Commit[:12]
		}
		return "@" + r.VCS.Commit
	}
	return r.Version
}

// validate refuses requests that name no single, pinned source.
func validate(req Request) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("invalid build request for %q: %s", req.Project, fmt.Sprintf(format, args...))
	}
	if !dist.ValidName(req.Project) {
		return bad("not a valid project name")
	}
	if req.Target.OS == "" || req.Target.Arch == "" || req.Target.Python.Major == 0 {
		return bad("no target")
	}
	switch {
	case req.Sdist != "" && req.VCS != nil:
		return bad("both an sdist and a VCS source")
	case req.Sdist != "":
		if _, err := pep440.Parse(req.Version); err != nil {
			return bad("version %q: %v", req.Version, err)
		}
	case req.VCS != nil:
		v := req.VCS
		// The same checks lock made: a lock file may be written by hand.
		if err := gitsrc.CheckURL(strings.TrimPrefix(v.URL, "git+")); err != nil {
			return bad("%v", err)
		}
		if !gitsrc.IsCommit(v.Commit) {
			return bad("VCS commit %q is not a full commit id (branches and tags move; only commits are trusted)", v.Commit)
		}
		if err := gitsrc.CheckSubdirectory(v.Subdirectory); err != nil {
			return bad("%v", err)
		}
	default:
		return bad("no source (want an sdist or a VCS checkout)")
	}
	return nil
}

// sourceID names the source by content: the sdist's sha256, or the
// repository, commit and subdirectory.
func sourceID(req Request) (string, error) {
	if req.VCS != nil {
		v := req.VCS
		return "vcs\x00" + gitsrc.WithoutCredentials(strings.TrimPrefix(v.URL, "git+")) + "\x00" + v.Commit + "\x00" + v.Subdirectory, nil
	}
	sum, err := fileSHA256(req.Sdist)
	if err != nil {
		return "", fmt.Errorf("hashing the sdist: %w", err)
	}
	return "sdist\x00" + sum, nil
}

// cacheKey is the name of a built wheel in the cache. target is "" for a
// pure-Python wheel, which every target shares.
func cacheKey(source, python, target string) string {
	h := sha256.New()
	for _, f := range []string{"larder-build/1", source, python, target} {
		fmt.Fprintf(h, "%d:%s\n", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// lock serializes builds of one source.
func (h *Host) lock(key string) func() {
	h.keysMu.Lock()
	m, ok := h.keys[key]
	if !ok {
		m = &sync.Mutex{}
		h.keys[key] = m
	}
	h.keysMu.Unlock()
	m.Lock()
	return m.Unlock
}

// wheelDir is where the wheel with a cache key lives.
func (h *Host) wheelDir(key string) string {
	return filepath.Join(h.opts.cacheDir, "wheels", key[:2], key)
}

// cached returns the cached wheel for req, or "" when there is none. A
// cached wheel is checked like a fresh one: a pure wheel cached for one
// target may not fit another (a py2-only wheel, say).
func (h *Host) cached(req Request, keys ...string) (string, error) {
	for _, key := range keys {
		wheels, _ := filepath.Glob(filepath.Join(h.wheelDir(key), "*.whl"))
		if len(wheels) != 1 {
			continue
		}
		if _, err := checkWheel(filepath.Base(wheels[0]), req); err != nil {
			return "", err
		}
		return wheels[0], nil
	}
	return "", nil
}

// interpreter probes the configured Python once: its real executable, its
// version, and that it has pip.
func (h *Host) interpreter(ctx context.Context) (*interpreter, error) {
	h.probeMu.Lock()
	defer h.probeMu.Unlock()
	if h.interp != nil {
		return h.interp, nil
	}
	const probe = "import sys, platform\nprint(sys.executable)\nprint(platform.python_implementation(), platform.python_version())\nimport pip\n"
	cmd := exec.CommandContext(ctx, h.opts.python, "-c", probe)
	// The probe sees the interpreter as pip will (pipEnv): a stray
	// PYTHONHOME or PYTHONPATH must not fail it, or pass it with a pip
	// the build will not have.
	cmd.Env = pythonenv.Without(pythonenv.Interpreters)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if err != nil || len(lines) != 2 {
		msg := strings.TrimSpace(errb.String())
		if strings.Contains(msg, "No module named 'pip'") {
			return nil, fmt.Errorf("python %q has no pip, which builds wheels", h.opts.python)
		}
		if err == nil {
			err = errors.New("unexpected output")
		}
		return nil, fmt.Errorf("probing python %q: %v: %s", h.opts.python, err, msg)
	}
	exe := lines[0]
	if exe == "" {
		exe = h.opts.python
	}
	h.interp = &interpreter{exe: exe, version: strings.TrimSpace(lines[1])}
	return h.interp, nil
}

// build gets the source, runs pip, checks the wheel and stores it in the
// cache under the pure or the target key. It returns the cached wheel.
func (h *Host) build(ctx context.Context, req Request, interp *interpreter, pureKey, targetKey string) (string, error) {
	if err := os.MkdirAll(filepath.Join(h.opts.cacheDir, "wheels"), 0o755); err != nil {
		return "", err
	}
	work, err := os.MkdirTemp(filepath.Join(h.opts.cacheDir, "wheels"), ".work-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)

	src, err := h.source(ctx, req, work)
	if err != nil {
		return "", err
	}
	logPath := filepath.Join(work, "build.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return "", err
	}
	out := filepath.Join(work, "out")
	err = h.pipWheel(ctx, interp, req, src, out, work, logf)
	if cerr := logf.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return "", h.failed(req, interp, pureKey, logPath, err)
	}
	wheels, _ := filepath.Glob(filepath.Join(out, "*.whl"))
	if len(wheels) != 1 {
		return "", h.failed(req, interp, pureKey, logPath, fmt.Errorf("pip produced %d wheels, want exactly one", len(wheels)))
	}
	name := filepath.Base(wheels[0])
	w, err := checkWheel(name, req)
	if err != nil {
		return "", h.failed(req, interp, pureKey, logPath, err)
	}
	h.builds.Add(1)

	key := targetKey
	if isPure(w) {
		key = pureKey
	}
	// The wheel and its log move into place as one folder, so a cache
	// entry is always whole.
	entry := filepath.Join(work, "entry")
	if err := os.Mkdir(entry, 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(wheels[0], filepath.Join(entry, name)); err != nil {
		return "", err
	}
	if err := os.Rename(logPath, filepath.Join(entry, "build.log")); err != nil {
		return "", err
	}
	final := h.wheelDir(key)
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(entry, final); err != nil {
		// Another process cached the same build first: keep theirs.
		if got, cerr := h.cached(req, key); cerr == nil && got != "" {
			return got, nil
		}
		return "", fmt.Errorf("caching %s: %w", name, err)
	}
	return filepath.Join(final, name), nil
}

// source prepares a source tree under work that pip may write into.
func (h *Host) source(ctx context.Context, req Request, work string) (string, error) {
	if req.VCS == nil {
		return pep517.Unpack(req.Sdist, filepath.Join(work, "sdist"))
	}
	v := req.VCS
	repo, _, err := gitsrc.Checkout(ctx, h.opts.gitCacheDir, strings.TrimPrefix(v.URL, "git+"), v.Commit)
	url := gitsrc.WithoutCredentials(strings.TrimPrefix(v.URL, "git+")) // for messages
	if err != nil {
		return "", fmt.Errorf("checking out %s at %s: %w", url, v.Commit, err)
	}
	tree := filepath.Join(work, "tree")
	if err := copyTree(repo, tree); err != nil {
		return "", fmt.Errorf("copying the checkout of %s: %w", url, err)
	}
	// copyTree keeps links as links, so a subdirectory committed as a link
	// out of the repository would build whatever it points at.
	src, err := gitsrc.SourceDir(tree, v.Subdirectory)
	if err != nil {
		return "", fmt.Errorf("%s at %s: %w", url, v.Commit, err)
	}
	return src, nil
}

// failed saves the log of a failed build in the log folder and returns an
// Error with its last lines.
func (h *Host) failed(req Request, interp *interpreter, key, logPath string, cause error) error {
	e := &Error{Project: req.Project, Version: req.version(), Python: interp.exe, Err: cause}
	data, err := os.ReadFile(logPath)
	if err != nil {
		return e
	}
	e.Log = tail(data, logTailLines)
	name := fmt.Sprintf("%s-%s-%s.log", dist.NormalizeName(req.Project), strings.TrimPrefix(req.version(), "@"), key[:12])
	saved := filepath.Join(h.opts.logDir, name)
	if err := os.MkdirAll(h.opts.logDir, 0o755); err == nil {
		if err := wheelhouse.CopyFileAtomic(logPath, saved, true); err == nil {
			e.LogPath = saved
		}
	}
	return e
}

// tail returns the last n lines of a log.
func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// missingBuildDeps are pip's words for an isolated build whose build
// requirements no configured source serves. With --no-deps nothing else is
// installed, so any of them means the build environment could not be made.
var missingBuildDeps = []string{
	"to install build dependencies did not run successfully",
	"to install backend dependencies did not run successfully",
	"No matching distribution found for",
}

// pipWheel runs pip wheel on src: isolated, with build requirements from the
// configured find-links and index only, when there are any; without
// isolation, using the interpreter's own setuptools, when there are none or
// they lack a build requirement.
func (h *Host) pipWheel(ctx context.Context, interp *interpreter, req Request, src, out, work string, log *os.File) error {
	isolated := h.opts.indexURL != "" || len(h.opts.findLinks) > 0
	if !isolated {
		fmt.Fprintln(log, "larder: no find-links or index serves build dependencies: building without build isolation")
	}
	for {
		start := time.Now()
		output, err := h.runPip(ctx, interp, src, out, work, isolated, log)
		if err == nil {
			fmt.Fprintf(log, "larder: built in %s\n", time.Since(start).Round(time.Millisecond))
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("running pip: %w", ctx.Err())
		}
		if !isolated || !containsAny(output, missingBuildDeps) {
			return fmt.Errorf("pip wheel failed: %w", err)
		}
		fmt.Fprintln(log, "larder: the build dependencies could not be found for an isolated build: retrying with --no-build-isolation")
		isolated = false
		if err := os.RemoveAll(out); err != nil {
			return err
		}
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// runPip runs pip once, appending its output to log, and returns that
// output too.
func (h *Host) runPip(ctx context.Context, interp *interpreter, src, out, work string, isolated bool, log *os.File) (string, error) {
	args := []string{"-m", "pip", "wheel", "--no-deps", "--use-pep517", "--no-cache-dir", "--progress-bar", "off", "--wheel-dir", out}
	if isolated {
		if h.opts.indexURL != "" {
			args = append(args, "--index-url", h.opts.indexURL)
		} else {
			args = append(args, "--no-index")
		}
		for _, d := range h.opts.findLinks {
			args = append(args, "--find-links", d)
		}
	} else {
		args = append(args, "--no-build-isolation", "--no-index")
	}
	args = append(args, src)

	home := filepath.Join(work, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, interp.exe, args...)
	cmd.Dir = work
	cmd.Env = pipEnv(home)
	killGroup(cmd)
	cmd.WaitDelay = 5 * time.Second
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	fmt.Fprintf(log, "$ %s %s\n", interp.exe, strings.Join(args, " "))
	err := cmd.Run()
	log.Write(buf.Bytes())
	if err != nil {
		fmt.Fprintf(log, "(pip failed: %v)\n", err)
	}
	return buf.String(), err
}

// pipEnv is the environment of a pip run: the caller's, without anything
// that configures Python, pip or a virtual environment
// (pythonenv.Isolated: another index, config file, package folder,
// interpreter home or startup script), with a throwaway HOME and caches,
// no prompts, and a fixed SOURCE_DATE_EPOCH (unless the caller set one) so
// that wheel archives are reproducible. The caller's proxies are kept: a
// build may need them to reach its index; so are the caller's
// PYTHONHASHSEED, which points pip nowhere and which reproducible-build
// setups pin, as they do SOURCE_DATE_EPOCH, and PYTHONUTF8, which lets a
// setup.py read its UTF-8 files under another locale.
func pipEnv(home string) []string {
	env := pythonenv.Isolated(home, nil)
	for _, k := range []string{"PYTHONHASHSEED", "PYTHONUTF8"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	// A throwaway HOME hides a rustup-installed toolchain (Rust sdists
	// build with cargo): unless set, its folders are named from the real
	// HOME.
	if real, err := os.UserHomeDir(); err == nil {
		for _, kd := range [][2]string{{"RUSTUP_HOME", ".rustup"}, {"CARGO_HOME", ".cargo"}} {
			if _, ok := os.LookupEnv(kd[0]); !ok {
				env = append(env, kd[0]+"="+filepath.Join(real, kd[1]))
			}
		}
	}
	if _, ok := os.LookupEnv("SOURCE_DATE_EPOCH"); !ok {
		env = append(env, "SOURCE_DATE_EPOCH=315532800") // 1980-01-01, the earliest zip time
	}
	return env
}
