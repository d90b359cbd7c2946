package reqfile

import (
	"fmt"
	"io/fs"
	"os"
	"slices"

	"github.com/larder-build/larder/internal/readlimit"
	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/pep508"
)

// File is a requirements file and everything it includes.
type File struct {
	// Requirements are the requirements in the order pip would read them,
	// those of included files in place of the -r line.
	Requirements []Requirement
	// Constraints come from files included with -c: they restrict the
	// versions of whatever else is required, never add a project.
	Constraints []Requirement
	// Options are the global options set by option lines.
	Options Options
	// Files lists every file read, each once, in the order first read.
	Files []string
	// Warnings are what pip accepts but a user probably did not mean, and
	// the -r/-c files skipped under IgnoreMissing.
	Warnings []Warning
}

// Source is a place in a requirements file.
type Source struct {
	// File is the path of the file, cleaned, relative if the top-level
	// path was.
	File string
	// Line is the 1-based first physical line of the logical line.
	Line int
}

// String formats s as "file:line", or "file" for the file as a whole.
func (s Source) String() string {
	if s.Line == 0 {
		return s.File
	}
	return fmt.Sprintf("%s:%d", s.File, s.Line)
}

// Requirement is one requirement line.
type Requirement struct {
	// Req is the parsed PEP 508 requirement, or nil for a URL or local path
	// whose project name is not known until it is built. For a link with
	// "#egg=name==1.0", a wheel file, or "name @ url", it holds that name.
	Req *pep508.Requirement
	// Raw is the logical line as written: continuation lines joined and
	// the comment removed, but ${VAR} references left unexpanded so that
	// credentials in them stay out of locks and logs.
	Raw string
	// Source is where the line is.
	Source Source
	// Via is the chain of -r/-c lines that included Source's file,
	// outermost first; empty for the top-level file.
	Via []Source
	// Editable is set for -e/--editable lines.
	Editable bool
	// Constraint is set for requirements read from a -c file.
	Constraint bool
	// Hashes are the --hash values in the order given, "sha256:<hex>".
	// pip ignores hashes on editable lines, and so does Requirement.
	Hashes []string
	// URL is the link to install from: the URL as written (with a VCS
	// prefix, "@rev" and fragment), the direct reference of "name @ url",
	// or a file: URL for a local path. Empty for an index requirement.
	URL string
	// VCS is set when URL is a version control URL such as "git+https://".
	VCS *VCS
	// LocalPath is the absolute path of a local directory or archive,
	// resolved against the working directory as pip does; also set for
	// file: URLs.
	LocalPath string
	// Extras are the extras pip installs: a local path's "[extra]" suffix,
	// or else those of Req.
	Extras []string
	// Marker is the environment marker that applies: the one after ';'
	// (pip splits "; " off URLs and ';' off anything else), or else that
	// of Req. nil means always.
	Marker *pep508.Marker
	// GlobalOptions are the --global-option values, ConfigSettings the
	// --config-settings "KEY=VALUE" values, in the order given.
	GlobalOptions  []string
	ConfigSettings []string
	// Comment is the trailing comment on the line, without '#'.
	Comment string
	// ViaNames are the pip-compile "# via" annotation entries that follow
	// the line (or its trailing "# via a, b" comment), as written: project
	// names, "-r requirements/edx/kernel.in", "-c constraints.txt".
	ViaNames []string
}

// Name returns the normalized project name, or "" when it is not known.
func (r *Requirement) Name() string {
	if r.Req == nil {
		return ""
	}
	return dist.NormalizeName(r.Req.Name)
}

// Options are the global options of a requirements file tree, with pip's
// meaning when several lines set them.
type Options struct {
	// IndexURL is the last -i/--index-url given, "" for pip's default.
	IndexURL string
	// ExtraIndexURLs are the --extra-index-url values given after the
	// last --index-url; pip drops earlier ones when --index-url is given.
	ExtraIndexURLs []string
	// NoIndex is set by --no-index, which also clears the index URLs and
	// makes pip ignore later ones.
	NoIndex bool
	// FindLinks are -f/--find-links values; a relative path that exists
	// next to the file that names it is made absolute, as pip does.
	FindLinks []string
	// NoBinary and OnlyBinary are the --no-binary and --only-binary sets of
	// normalized names, possibly with ":all:"; see AllowsBinary.
	NoBinary   []string
	OnlyBinary []string
	// Pre allows pre-releases (--pre).
	Pre bool
	// PreferBinary is --prefer-binary.
	PreferBinary bool
	// RequireHashes is --require-hashes.
	RequireHashes bool
	// TrustedHosts are the --trusted-host values.
	TrustedHosts []string
	// Features are the --use-feature values.
	Features []string
}

// AllowsBinary reports which kinds of distribution pip may use for the
// project name under the --no-binary and --only-binary sets: a name listed
// explicitly wins over ":all:", and --only-binary wins over --no-binary.
func (o *Options) AllowsBinary(name string) (binary, source bool) {
	name = dist.NormalizeName(name)
	switch {
	case slices.Contains(o.OnlyBinary, name):
		return true, false
	case slices.Contains(o.NoBinary, name):
		return false, true
	case slices.Contains(o.OnlyBinary, allNames):
		return true, false
	case slices.Contains(o.NoBinary, allNames):
		return false, true
	}
	return true, true
}

const (
	allNames  = ":all:"
	noneNames = ":none:"
)

// Warning is something pip accepts that was probably not meant.
type Warning struct {
	Source  Source
	Message string
}

// String formats w as "file:line: message".
func (w Warning) String() string { return w.Source.String() + ": " + w.Message }

// Error is a problem with one line of a requirements file.
type Error struct {
	// Source is where the line is.
	Source Source
	// Line is the logical line as written (see Requirement.Raw).
	Line string
	// Err says what is wrong.
	Err error
}

// Error formats e as "file:line: line: what is wrong".
func (e *Error) Error() string {
	if e.Line == "" {
		return fmt.Sprintf("%s: %v", e.Source, e.Err)
	}
	return fmt.Sprintf("%s: %s: %v", e.Source, e.Line, e.Err)
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Option configures parsing.
type Option func(*options) error

type options struct {
	ignoreMissing bool
	lookupEnv     func(string) (string, bool)
	workDir       string
	fsys          fileSystem
}

// IgnoreMissing makes a -r or -c file that does not exist a warning instead
// of an error. Real trees need it: pip-compile constraint files often
// include a file that "make upgrade" downloads, such as edx's
// common_constraints.txt.
func IgnoreMissing() Option {
	return func(o *options) error {
		o.ignoreMissing = true
		return nil
	}
}

// WithEnv makes ${VAR} references expand from vars instead of the process
// environment.
func WithEnv(vars map[string]string) Option {
	return func(o *options) error {
		o.lookupEnv = func(name string) (string, bool) {
			v, ok := vars[name]
			return v, ok
		}
		return nil
	}
}

// WithWorkDir sets the directory that local paths in requirements (such as
// "./pkg" or "-e common/lib/x") are relative to; pip uses its working
// directory, and so does Parse by default. Included files are always
// relative to the file that includes them.
func WithWorkDir(dir string) Option {
	return func(o *options) error {
		if dir == "" {
			return fmt.Errorf("setting work dir: empty path")
		}
		o.workDir = dir
		return nil
	}
}

// withFileSystem replaces the operating system's files, for tests and fuzzing.
func withFileSystem(fsys fileSystem) Option {
	return func(o *options) error {
		o.fsys = fsys
		return nil
	}
}

// fileSystem is what parsing needs from files: reading included files and
// asking what a local path is.
type fileSystem interface {
	ReadFile(name string) ([]byte, error)
	Stat(name string) (fs.FileInfo, error)
}

// maxFileSize bounds one requirements file; real ones are under 100 kB.
const maxFileSize = 32 << 20

type osFileSystem struct{}

func (osFileSystem) ReadFile(name string) ([]byte, error) {
	// Devices and pipes are refused: "-r /dev/zero" must not hang.
	return readlimit.File(name, maxFileSize, readlimit.FollowLinks)
}

func (osFileSystem) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }
