package config

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/larder-build/larder/images"
	"github.com/larder-build/larder/images/registrycache"
	"github.com/larder-build/larder/internal/readlimit"
	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/simple"
	"github.com/larder-build/larder/resolver/target"
	"github.com/larder-build/larder/resolver/tomldoc"
	"github.com/larder-build/larder/wheelhouse/build"
)

// DefaultFile is the name of the configuration file looked up in the
// working folder when --config is not given.
const DefaultFile = "larder.toml"

// maxConfigBytes bounds larder.toml, read whole; real ones are a few kB.
const maxConfigBytes = 4 << 20

// Config is the whole of larder.toml.
type Config struct {
	Project    Project          `toml:"project" comment:"What to lock."`
	Index      Index            `toml:"index" comment:"Where distributions come from."`
	Targets    []Target         `toml:"target" comment:"Every platform the lock and the images cover."`
	Wheelhouse Wheelhouse       `toml:"wheelhouse"`
	Image      Image            `toml:"image"`
	Build      map[string]Build `toml:"build,omitempty"`
	Cache      Cache            `toml:"cache" comment:"The shared cache: an OCI registry every machine reads and fills."`

	// File is the configuration file this was loaded from ("" for defaults).
	File string `toml:"-"`
	// Dir is the folder relative paths resolve against.
	Dir string `toml:"-"`
}

// Project lists the inputs of the lock.
type Project struct {
	// Requirements are pip requirement files, pyproject.toml, uv.lock or
	// pylock.toml files.
	Requirements []string `toml:"requirements"`
	// Constraints are pip constraint files: they restrict, never add.
	Constraints []string `toml:"constraints"`
	// Lock is the PEP 751 lock file larder writes and reads.
	Lock string `toml:"lock"`
	// Pre allows pre-releases everywhere, like pip's --pre.
	Pre bool `toml:"pre"`
	// OnlyBinary names projects (or ":all:") that must come as wheels.
	OnlyBinary []string `toml:"only-binary"`
	// NoBinary names projects (or ":all:") that must be built from source.
	NoBinary []string `toml:"no-binary"`
	// Extras and Groups select optional dependencies and PEP 735
	// dependency groups of pyproject.toml and uv.lock inputs.
	Extras []string `toml:"extras"`
	Groups []string `toml:"groups"`
	// Python is the interpreter that runs PEP 517 hooks: metadata of
	// sdists and forks whose metadata is not static, and wheel builds.
	Python string `toml:"python"`
}

// Index configures the package index.
type Index struct {
	// URL is the simple API root used to resolve and fetch, and the
	// upstream the index server falls through to.
	URL string `toml:"url"`
	// ExtraURLs are further indexes; the first index that has a project
	// wins, and indexes are never merged for one project.
	ExtraURLs []string `toml:"extra-urls"`
	// Private are globs of project names that never fall through to an
	// upstream index.
	Private []string `toml:"private"`
	// Projects pins projects to one index URL.
	Projects map[string]string `toml:"projects,omitempty"`
	// Uploaders says who may upload to larder serve --htpasswd: a glob of
	// project names to the users allowed to upload those projects. With
	// none, every user may upload any project.
	Uploaders map[string][]string `toml:"uploaders,omitempty"`
}

// Target is one platform to lock and bake for.
type Target struct {
	Platform string `toml:"platform"`
	Python   string `toml:"python"`
	Libc     string `toml:"libc,omitempty"`
}

// Wheelhouse configures the on-disk store of distributions.
type Wheelhouse struct {
	Dir string `toml:"dir"`
}

// Image configures the bake.
type Image struct {
	Base   string `toml:"base"`
	Output string `toml:"output"`
	Path   string `toml:"path"`
	// Compression of the wheelhouse layers: gzip, zstd or none.
	Compression string `toml:"compression"`
}

// Cache configures the shared cache of distribution files.
type Cache struct {
	// Registry is docker://REGISTRY/REPO or oci:DIR ("" for none).
	Registry string `toml:"registry,omitempty"`
	// Push has fetch put what it downloads into the cache.
	Push bool `toml:"push,omitempty"`
	// Insecure allows plain HTTP to a registry that is not on loopback.
	Insecure bool `toml:"insecure,omitempty"`
}

// Build configures how one project is built from source.
type Build struct {
	// Apt lists Debian packages a hermetic build installs first.
	Apt []string `toml:"apt"`
}

// Default returns the configuration used when there is no larder.toml.
func Default() *Config {
	return &Config{
		Project:    Project{Lock: "pylock.toml", Python: "python3"},
		Index:      Index{URL: "https://pypi.org/simple/"},
		Targets:    []Target{{Platform: "linux/amd64", Python: "3.11", Libc: target.DefaultLibc.String()}},
		Wheelhouse: Wheelhouse{Dir: ".larder/wheelhouse"},
		Image:      Image{Path: "/wheelhouse", Compression: "gzip"},
	}
}

// Load reads the configuration file at name over the defaults. When
// optional is true and the file does not exist, the defaults are returned
// with Dir set to the working folder.
func Load(name string, optional bool) (*Config, error) {
	data, err := readlimit.File(name, maxConfigBytes, readlimit.FollowLinks)
	if errors.Is(err, os.ErrNotExist) && optional {
		c := Default()
		c.Dir, _ = os.Getwd()
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	c, err := Parse(data, name)
	if err != nil {
		return nil, err
	}
	c.File = name
	if c.Dir, err = filepath.Abs(filepath.Dir(name)); err != nil {
		return nil, fmt.Errorf("reading config %s: %w", name, err)
	}
	return c, nil
}

// Parse decodes and validates a configuration document; name is used in
// error messages.
func Parse(data []byte, name string) (*Config, error) {
	c := Default()
	// Targets from the file replace the default target, not extend it.
	c.Targets = nil
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return nil, decodeError(name, data, err)
	}
	if len(c.Targets) == 0 {
		c.Targets = Default().Targets
	}
	if err := c.validate(name, data); err != nil {
		return nil, err
	}
	return c, nil
}

// Error is a problem at one key of a configuration file.
type Error struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Key == "" {
		return fmt.Sprintf("%s: %s", loc, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", loc, e.Key, e.Msg)
}

// tomlKind finds the TOML type in go-toml's "cannot decode TOML string
// into ..." messages.
var tomlKind = regexp.MustCompile(`^cannot decode TOML (\w+)`)

func article(kind string) string {
	if strings.IndexByte("aeiou", kind[0]) >= 0 {
		return "an"
	}
	return "a"
}

func decodeError(name string, data []byte, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		var errs []error
		for _, de := range strict.Errors {
			line, _ := de.Position()
			key := strings.Join(de.Key(), ".")
			errs = append(errs, &Error{File: name, Line: line, Key: key,
				Msg: "unknown key" + knownKeys(de.Key())})
		}
		return errors.Join(errs...)
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, _ := de.Position()
		key := strings.Join(de.Key(), ".")
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		want := expected(de.Key())
		// go-toml names Go types ("struct field config.Project.Requirements
		// of type []string"): say it in TOML's words.
		if m := tomlKind.FindStringSubmatch(msg); m != nil && want != "" {
			msg = fmt.Sprintf("is %s %s, but must be %s", article(m[1]), m[1], want)
		} else if want != "" && key != "" {
			msg = fmt.Sprintf("%s (expected %s)", msg, want)
		}
		return &Error{File: name, Line: line, Key: key, Msg: msg}
	}
	return fmt.Errorf("%s: %w", name, err)
}

// validate checks values that decode but mean nothing, naming the key and
// the line it is on.
func (c *Config) validate(name string, data []byte) error {
	lines := tomldoc.Index(name, data)
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &Error{File: name, Line: lines.Line(key), Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	checkURL := func(key, s string) {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			bad(key, "%q is not an index URL (expected http:// or https:// with a host; larder reads indexes over HTTP)", simple.RedactURL(s))
		}
	}
	checkURL("index.url", c.Index.URL)
	for i, u := range c.Index.ExtraURLs {
		checkURL(fmt.Sprintf("index.extra-urls[%d]", i), u)
	}
	for p, u := range c.Index.Projects {
		checkURL("index.projects."+p, u)
	}
	for i, g := range c.Index.Private {
		if _, err := path.Match(g, ""); err != nil || g == "" {
			bad(fmt.Sprintf("index.private[%d]", i), "%q is not a valid glob", g)
		}
	}
	for g, users := range c.Index.Uploaders {
		if _, err := path.Match(g, ""); err != nil || g == "" || len(users) == 0 {
			bad("index.uploaders."+g, "%q = %q: want a valid glob and at least one user", g, users)
		}
	}
	if c.Project.Lock == "" {
		bad("project.lock", "must not be empty")
	}
	if c.Wheelhouse.Dir == "" {
		bad("wheelhouse.dir", "must not be empty")
	}
	if c.Image.Path == "" || !strings.HasPrefix(c.Image.Path, "/") {
		bad("image.path", "%q must be an absolute path inside the image", c.Image.Path)
	}
	switch c.Image.Compression {
	case "gzip", "zstd", "none":
	default:
		bad("image.compression", "%q: expected gzip, zstd or none", c.Image.Compression)
	}
	for _, k := range []struct{ key, ref string }{{"image.base", c.Image.Base}, {"image.output", c.Image.Output}} {
		if k.ref == "" {
			continue
		}
		r, err := images.ParseRef(k.ref, false)
		switch {
		case err != nil:
			bad(k.key, "%s", err.Error())
		case r.Transport == images.Scratch && k.key == "image.output":
			bad(k.key, "scratch is only a base")
		}
	}
	if c.Cache.Registry != "" {
		if err := registrycache.Check(c.Cache.Registry); err != nil {
			bad("cache.registry", "%s", err.Error())
		}
	} else if c.Cache.Push {
		bad("cache.push", "needs cache.registry")
	}
	// [build.NAME] apt goes into a Dockerfile RUN line (fetch --builder
	// buildkit): each entry must be one Debian package, nothing a newline
	// or the shell would read as more.
	for _, name := range slices.Sorted(maps.Keys(c.Build)) {
		key := tomldoc.JoinKey("build", name)
		if !dist.ValidName(name) {
			bad(key, "%q is not a project name (letters, digits, '.', '_' and '-', starting and ending with a letter or digit)", name)
		}
		for i, p := range c.Build[name].Apt {
			if err := build.CheckAptPackage(p); err != nil {
				bad(tomldoc.IndexKey(tomldoc.JoinKey(key, "apt"), i), "%s", err.Error())
			}
		}
	}
	seen := map[string]int{}
	for i, t := range c.Targets {
		key := fmt.Sprintf("target[%d]", i)
		tt, err := t.Parse()
		if err != nil {
			field := "platform"
			switch {
			case strings.Contains(err.Error(), "python version"):
				field = "python"
			case strings.Contains(err.Error(), "libc"):
				field = "libc"
			}
			bad(key+"."+field, "%s", err.Error())
			continue
		}
		if j, dup := seen[tt.String()]; dup {
			bad(key, "duplicates target[%d] (%s)", j, tt)
		}
		seen[tt.String()] = i
	}
	return errors.Join(errs...)
}

// Parse turns the configured strings into a target.Target.
func (t Target) Parse() (target.Target, error) {
	tt, err := target.ParsePlatform(t.Platform)
	if err != nil {
		return tt, err
	}
	if tt.Python, err = target.ParsePython(t.Python); err != nil {
		return tt, err
	}
	tt.Libc = target.DefaultLibc
	if t.Libc != "" {
		if tt.Libc, err = target.ParseLibc(t.Libc); err != nil {
			return tt, err
		}
	}
	return tt, nil
}

// ParsedTargets returns every configured target.
func (c *Config) ParsedTargets() ([]target.Target, error) {
	out := make([]target.Target, 0, len(c.Targets))
	for _, t := range c.Targets {
		tt, err := t.Parse()
		if err != nil {
			return nil, err
		}
		out = append(out, tt)
	}
	return out, nil
}

// Path resolves a path from the configuration against the folder of the
// configuration file.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) || c.Dir == "" {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// Encode writes the configuration as TOML.
func (c *Config) Encode() ([]byte, error) {
	var b bytes.Buffer
	enc := toml.NewEncoder(&b).SetIndentTables(false)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("encoding config: %w", err)
	}
	return b.Bytes(), nil
}
