package reqfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/larder-build/larder/internal/readlimit"
	"github.com/larder-build/larder/resolver/dist"
)

// ParseFile parses the requirements file at path and every file it
// includes with -r and -c, relative to the including file.
func ParseFile(path string, opts ...Option) (*File, error) {
	return ParseFileContext(context.Background(), path, opts...)
}

// ParseFileContext is ParseFile that stops, with ctx's error, once ctx is
// done: a huge or hostile tree must not outlive an interrupt.
func ParseFileContext(ctx context.Context, path string, opts ...Option) (*File, error) {
	p, err := newParser(ctx, opts)
	if err != nil {
		return nil, err
	}
	if sc := urlScheme(path); sc == "http" || sc == "https" {
		return nil, fmt.Errorf("parsing %s: requirements files over %s are not supported: larder works offline; download the file and pass its path", path, sc)
	}
	if urlScheme(path) == "file" {
		local, err := fileURLToPath(path)
		if err != nil {
			return nil, fmt.Errorf("parsing %s: %w", path, err)
		}
		path = local
	}
	data, err := p.opts.fsys.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading requirements file: %w", err)
	}
	_ = p.count(data) // one file is within maxFileSize, below maxTotalSize
	if err := p.parse(path, data, false, nil); err != nil {
		return nil, err
	}
	return p.finish(), nil
}

// Parse parses a requirements file read from r. name is its path: it is
// reported in Source and errors, and files it includes are found relative
// to it.
func Parse(r io.Reader, name string, opts ...Option) (*File, error) {
	return ParseContext(context.Background(), r, name, opts...)
}

// ParseContext is Parse that stops, with ctx's error, once ctx is done.
// r is read in pieces of at most 1 MiB with a look at ctx before each; a
// Read that blocks is waited for.
func ParseContext(ctx context.Context, r io.Reader, name string, opts ...Option) (*File, error) {
	p, err := newParser(ctx, opts)
	if err != nil {
		return nil, err
	}
	data, err := readlimit.ReadAll(contextReader{ctx: ctx, r: r}, maxFileSize)
	if err != nil {
		if ctx.Err() != nil {
			return nil, &Error{Source: Source{File: filepath.Clean(name)}, Err: fmt.Errorf("reading interrupted: %w", ctx.Err())}
		}
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	_ = p.count(data) // one file is within maxFileSize, below maxTotalSize
	if err := p.parse(name, data, false, nil); err != nil {
		return nil, err
	}
	return p.finish(), nil
}

type parser struct {
	ctx   context.Context
	opts  options
	file  File
	seen  map[string]bool
	stack []frame
	// parsed holds the files already parsed, in each mode: a file included
	// again adds nothing pip would not already have, so a diamond of
	// includes costs one read per file instead of one per path to it.
	parsed map[parsedKey]bool
	// reqLines holds the requirement lines already added, so that a
	// repeated line costs a map lookup instead of a Requirement.
	reqLines map[reqLineKey]bool
	// files and bytes count what has been read, against maxFiles and
	// maxTotalSize.
	files int
	bytes int64
	// optionLines counts option lines parsed, and hadOptions the files
	// whose tree had some: reading such a file once only is a difference
	// from pip worth a warning.
	optionLines int
	hadOptions  map[parsedKey]bool
}

type parsedKey struct {
	file       string // fileKey
	constraint bool
}

type reqLineKey struct {
	text       string // the logical line as written, options included
	constraint bool
}

// Limits on a whole tree of requirement files. Real trees (edx-platform's
// included) read under 50 files and 1 MiB; these only stop a hostile or
// generated tree before it costs minutes or gigabytes.
const (
	maxFiles     = 10_000
	maxTotalSize = 64 << 20
	// maxDepth bounds a chain of includes: each level's requirements
	// carry the whole chain in Via. pip stops near 300, at Python's
	// recursion limit.
	maxDepth = 100
	// maxRequirements bounds the distinct requirement and constraint
	// lines of a tree (each costs a parsed Requirement, some hundreds of
	// bytes); the largest real trees hold a few thousand.
	maxRequirements = 50_000
)

// checkEvery is how many lines are parsed between looks at the context,
// and checkBytes how many bytes of lines: a line's work grows with its
// length (a 1 MiB marker takes some tenths of a second), so a file of a
// few long lines is looked at before each.
const (
	checkEvery = 256
	checkBytes = 64 << 10
)

// readPiece bounds one Read of ParseContext's reader, and splitPiece the
// text split into lines, between looks at the context: under the race
// detector a 30 MiB file took 7 s to read from a strings.Reader and 4 s to
// split, far too long to ignore an interrupt.
const (
	readPiece  = 1 << 20
	splitPiece = 1 << 20
)

// contextReader reads r, but fails with ctx's error once ctx is done, and
// reads at most readPiece bytes at a time.
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c contextReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	if len(b) > readPiece {
		b = b[:readPiece]
	}
	return c.r.Read(b)
}

// frame is a file being parsed, for cycle detection.
type frame struct {
	key, path string
}

func newParser(ctx context.Context, opts []Option) (*parser, error) {
	p := &parser{ctx: ctx, seen: map[string]bool{}, parsed: map[parsedKey]bool{}, reqLines: map[reqLineKey]bool{}, hadOptions: map[parsedKey]bool{}}
	for _, o := range opts {
		if err := o(&p.opts); err != nil {
			return nil, err
		}
	}
	if p.opts.fsys == nil {
		p.opts.fsys = osFileSystem{}
	}
	if p.opts.lookupEnv == nil {
		p.opts.lookupEnv = os.LookupEnv
	}
	if p.opts.workDir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("getting work dir: %w", err)
		}
		p.opts.workDir = wd
	}
	if !filepath.IsAbs(p.opts.workDir) {
		wd, err := filepath.Abs(p.opts.workDir)
		if err != nil {
			return nil, fmt.Errorf("getting work dir: %w", err)
		}
		p.opts.workDir = wd
	}
	return p, nil
}

func (p *parser) finish() *File {
	sort.Strings(p.file.Options.NoBinary)
	sort.Strings(p.file.Options.OnlyBinary)
	return &p.file
}

// fileKey identifies a file for cycle detection, whatever path spelled it.
func (p *parser) fileKey(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Clean(path)
	}
	if _, isOS := p.opts.fsys.(osFileSystem); isOS {
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			return real
		}
	}
	return abs
}

func (p *parser) warn(src Source, format string, args ...any) {
	p.file.Warnings = append(p.file.Warnings, Warning{Source: src, Message: fmt.Sprintf(format, args...)})
}

// parse parses one file's content and, through -r and -c lines, the files
// it includes.
func (p *parser) parse(path string, data []byte, constraint bool, via []Source) error {
	path = filepath.Clean(path)
	key := p.fileKey(path)
	if err := p.ctx.Err(); err != nil {
		return &Error{Source: Source{File: path}, Err: fmt.Errorf("parsing interrupted: %w", err)}
	}
	if !p.seen[key] {
		p.seen[key] = true
		p.file.Files = append(p.file.Files, path)
	}
	pk := parsedKey{file: key, constraint: constraint}
	p.parsed[pk] = true
	options := p.optionLines
	p.stack = append(p.stack, frame{key: key, path: path})
	defer func() { p.stack = p.stack[:len(p.stack)-1] }()

	text, err := decodeContent(data)
	if err != nil {
		return &Error{Source: Source{File: path}, Err: err}
	}
	physical, err := splitLinesContext(p.ctx, text)
	if err != nil {
		return &Error{Source: Source{File: path}, Err: fmt.Errorf("parsing interrupted: %w", err)}
	}
	i, size := 0, 0
	for ll := range eachLogicalLine(physical) {
		i++
		if size += len(ll.text); i%checkEvery == 0 || size >= checkBytes {
			size = 0
			if err := p.ctx.Err(); err != nil {
				return &Error{Source: Source{File: path, Line: ll.first}, Err: fmt.Errorf("parsing interrupted: %w", err)}
			}
		}
		if err := p.line(path, physical, ll, constraint, via); err != nil {
			return err
		}
	}
	if p.optionLines > options {
		p.hadOptions[pk] = true
	}
	return nil
}

// line handles one logical line: a requirement, an include, or options.
func (p *parser) line(path string, physical []string, ll logicalLine, constraint bool, via []Source) error {
	src := Source{File: path, Line: ll.first}
	fail := func(err error) error { return &Error{Source: src, Line: ll.text, Err: err} }

	expanded, unset, err := expandEnv(ll.text, p.opts.lookupEnv)
	if err != nil {
		return fail(err)
	}
	args, optText := splitArgsOptions(expanded)
	words, err := splitOptionWords(optText)
	if err != nil {
		return fail(fmt.Errorf("splitting options %q: %w", optText, err))
	}
	lo, err := parseLineOptions(words)
	if err != nil {
		return fail(err)
	}
	// A requirement line repeated word for word (in the same mode) means
	// nothing more to pip than the first: it is dropped before it costs a
	// Requirement or a warning. A line that also changes the binary sets
	// is kept, since where it falls among other option lines matters.
	dedupe := (args != "" || len(lo.editables) > 0) && len(lo.binaryOps) == 0
	lineKey := reqLineKey{text: ll.text, constraint: constraint}
	if dedupe && p.reqLines[lineKey] {
		return nil
	}
	for i, name := range unset {
		if !slices.Contains(unset[:i], name) {
			p.warn(src, "${%s} is not set (or empty) and is left as written", name)
		}
	}
	if len(lo.binaryOps) > 0 {
		p.optionLines++
	}
	// pip applies --no-binary and --only-binary while parsing the options,
	// so they take effect on every kind of line.
	for _, op := range lo.binaryOps {
		if err := p.applyBinary(op); err != nil {
			return fail(err)
		}
	}
	if len(lo.positional) > 0 {
		p.warn(src, "ignoring %q after the options, as pip does", strings.Join(lo.positional, " "))
	}

	switch {
	case args != "":
		p.warnIgnored(src, lo, "on a requirement line", "--hash", "--global-option", "--config-settings")
		r, err := p.fromLine(args, src)
		if err != nil {
			return fail(err)
		}
		r.Hashes = lo.hashes
		r.GlobalOptions = lo.globalOptions
		r.ConfigSettings = lo.configSettings
		if dedupe {
			p.reqLines[lineKey] = true
		}
		return p.add(r, path, ll, physical, constraint, via, fail)
	case len(lo.editables) > 0:
		if len(lo.editables) > 1 {
			p.warn(src, "pip installs only the first -e of a line; ignoring %q", lo.editables[1:])
		}
		p.warnIgnored(src, lo, "on an editable line", "--editable")
		r, err := p.fromEditable(lo.editables[0], src)
		if err != nil {
			return fail(err)
		}
		if dedupe {
			p.reqLines[lineKey] = true
		}
		return p.add(r, path, ll, physical, constraint, via, fail)
	case len(lo.requirements) > 0 || len(lo.constraints) > 0:
		return p.include(src, ll, lo, via, fail)
	}
	p.optionLines++
	p.applyOptions(src, path, lo)
	return nil
}

// warnIgnored warns about options pip silently ignores on a line of some
// kind; keep lists the options that do apply there.
func (p *parser) warnIgnored(src Source, lo *lineOptions, where string, keep ...string) {
	for _, name := range lo.used {
		if name == "--no-binary" || name == "--only-binary" || slices.Contains(keep, name) {
			continue
		}
		p.warn(src, "pip ignores %s %s", name, where)
	}
}

func (p *parser) add(r *Requirement, path string, ll logicalLine, physical []string, constraint bool, via []Source, fail func(error) error) error {
	if len(p.file.Requirements)+len(p.file.Constraints) >= maxRequirements {
		return fail(fmt.Errorf("more than %d distinct requirement lines in one tree", maxRequirements))
	}
	r.Raw = ll.text
	r.Source = Source{File: path, Line: ll.first}
	r.Comment = ll.comment
	r.Constraint = constraint
	if len(via) > 0 {
		r.Via = append([]Source(nil), via...)
	}
	r.ViaNames = viaNames(physical, ll)
	if constraint {
		// pip's resolver rejects these; say so where the line is.
		switch {
		case r.Req == nil:
			return fail(errors.New("a constraint must name a project: unnamed URLs and paths are not allowed in a -c file"))
		case r.Editable:
			return fail(errors.New("editable requirements are not allowed in a -c file"))
		case len(r.Extras) > 0:
			return fail(errors.New("constraints cannot have extras"))
		}
		p.file.Constraints = append(p.file.Constraints, *r)
		return nil
	}
	p.file.Requirements = append(p.file.Requirements, *r)
	return nil
}

// include parses the file named by a -r or -c line. Like pip, a file
// included with -r is read as requirements even inside a -c file.
func (p *parser) include(src Source, ll logicalLine, lo *lineOptions, via []Source, fail func(error) error) error {
	p.warnIgnored(src, lo, "on a -r/-c line", "--requirement", "--constraint")
	target, flag, constraint := "", "-r", false
	if len(lo.requirements) > 0 {
		target = lo.requirements[0]
		if len(lo.requirements) > 1 || len(lo.constraints) > 0 {
			p.warn(src, "pip reads only the first -r of a line; ignoring the rest")
		}
	} else {
		target, flag, constraint = lo.constraints[0], "-c", true
		if len(lo.constraints) > 1 {
			p.warn(src, "pip reads only the first -c of a line; ignoring the rest")
		}
	}
	var path string
	switch sc := urlScheme(target); sc {
	case "http", "https":
		return fail(fmt.Errorf("including %s over %s is not supported: larder works offline; download the file and include it by path", target, sc))
	case "file":
		local, err := fileURLToPath(target)
		if err != nil {
			return fail(err)
		}
		path = local
		if !filepath.IsAbs(path) {
			path = filepath.Join(p.opts.workDir, path)
		}
	default:
		path = target
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(src.File), path)
		}
	}
	path = filepath.Clean(path)
	key := p.fileKey(path)
	for i, f := range p.stack {
		if f.key != key {
			continue
		}
		chain := make([]string, 0, len(p.stack)-i+1)
		for _, g := range p.stack[i:] {
			chain = append(chain, g.path)
		}
		chain = append(chain, path)
		return fail(fmt.Errorf("including %s makes a cycle: %s", path, strings.Join(chain, " -> ")))
	}
	pk := parsedKey{file: key, constraint: constraint}
	if p.parsed[pk] {
		// Everything the file adds is already there; only its option
		// lines would land elsewhere in pip's order, so say so.
		if p.hadOptions[pk] {
			p.optionLines++
			p.warn(src, "%s %s: %s was read already and is not read again; pip would apply its option lines again here", flag, target, path)
		}
		return nil
	}
	if len(p.stack) >= maxDepth {
		return fail(fmt.Errorf("including %s: more than %d levels of -r/-c includes", path, maxDepth))
	}
	if p.files >= maxFiles {
		return fail(fmt.Errorf("including %s: more than %d requirement files in one tree", path, maxFiles))
	}
	if err := p.ctx.Err(); err != nil {
		return fail(fmt.Errorf("parsing interrupted before reading %s: %w", path, err))
	}
	data, err := p.opts.fsys.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && p.opts.ignoreMissing {
			p.warn(src, "%s %s: %s does not exist; skipped (IgnoreMissing)", flag, target, path)
			return nil
		}
		return fail(fmt.Errorf("reading included file: %w", err))
	}
	if err := p.count(data); err != nil {
		return fail(fmt.Errorf("including %s: %w", path, err))
	}
	return p.parse(path, data, constraint, append(via[:len(via):len(via)], src))
}

// count adds a file read to the totals, and fails once they pass the
// limits of a tree.
func (p *parser) count(data []byte) error {
	p.files++
	p.bytes += int64(len(data))
	if p.bytes > maxTotalSize {
		return fmt.Errorf("the requirement files read so far hold %d bytes, more than the %d allowed in one tree", p.bytes, maxTotalSize)
	}
	return nil
}

// applyOptions applies an option line to the file's options with the
// meaning pip gives each.
func (p *parser) applyOptions(src Source, path string, lo *lineOptions) {
	o := &p.file.Options
	if len(lo.hashes) > 0 {
		p.warn(src, "--hash without a requirement on the line is ignored")
	}
	if lo.noIndex {
		o.NoIndex = true
		o.IndexURL = ""
		o.ExtraIndexURLs = nil
	}
	if lo.indexURL != "" && !o.NoIndex {
		o.IndexURL = lo.indexURL
		o.ExtraIndexURLs = nil
	}
	if !o.NoIndex {
		o.ExtraIndexURLs = append(o.ExtraIndexURLs, lo.extraIndexURLs...)
	}
	if len(lo.findLinks) > 0 {
		if len(lo.findLinks) > 1 {
			p.warn(src, "pip uses only the first --find-links of a line; ignoring the rest")
		}
		v := lo.findLinks[0]
		// pip prefers a path relative to the requirements file when one
		// exists there.
		if dir, err := filepath.Abs(filepath.Dir(path)); err == nil {
			// Joined without cleaning, as os.path.join does.
			rel := strings.TrimSuffix(dir, string(filepath.Separator)) + string(filepath.Separator) + v
			if filepath.IsAbs(v) {
				rel = v
			}
			if _, err := p.opts.fsys.Stat(rel); err == nil {
				v = rel
			}
		}
		o.FindLinks = append(o.FindLinks, v)
	}
	o.Pre = o.Pre || lo.pre
	o.PreferBinary = o.PreferBinary || lo.preferBinary
	o.RequireHashes = o.RequireHashes || lo.requireHashes
	o.TrustedHosts = append(o.TrustedHosts, lo.trustedHosts...)
	for _, f := range lo.features {
		if !slices.Contains(o.Features, f) {
			o.Features = append(o.Features, f)
		}
	}
}

// applyBinary applies one --no-binary or --only-binary value: ":all:"
// empties both sets and stands for every project, ":none:" empties the set
// being added to, and a name moves from the other set to this one.
func (p *parser) applyBinary(op binaryOp) error {
	target, other := &p.file.Options.NoBinary, &p.file.Options.OnlyBinary
	flag := "--no-binary"
	if op.only {
		target, other = other, target
		flag = "--only-binary"
	}
	if strings.HasPrefix(op.value, "-") {
		return fmt.Errorf("%s needs a value, got %q", flag, op.value)
	}
	names := strings.Split(op.value, ",")
	for {
		i := slices.Index(names, allNames)
		if i < 0 {
			break
		}
		*other = nil
		*target = []string{allNames}
		names = names[i+1:]
		if !slices.Contains(names, noneNames) {
			return nil
		}
	}
	for _, n := range names {
		if n == noneNames {
			*target = nil
			continue
		}
		n = dist.NormalizeName(n)
		if i := slices.Index(*other, n); i >= 0 {
			*other = append((*other)[:i:i], (*other)[i+1:]...)
		}
		if !slices.Contains(*target, n) {
			*target = append(*target, n)
		}
	}
	return nil
}
