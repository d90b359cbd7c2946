package reqfile

import (
	"fmt"
	"sort"
	"strings"
)

// lineOptions is what the options of one line say, parsed with the rules
// of Python's optparse that pip uses (abbreviated long options, "--opt=v"
// and "--opt v", "-rFILE" and "-r FILE", "--" ending the options).
type lineOptions struct {
	indexURL       string
	extraIndexURLs []string
	noIndex        bool
	constraints    []string
	requirements   []string
	editables      []string
	findLinks      []string
	binaryOps      []binaryOp
	preferBinary   bool
	requireHashes  bool
	pre            bool
	trustedHosts   []string
	features       []string
	globalOptions  []string
	hashes         []string
	configSettings []string
	positional     []string // ignored by pip; kept for warnings
	used           []string // canonical names of the options given, in order
}

// binaryOp is one --no-binary or --only-binary value, applied in order.
type binaryOp struct {
	only  bool
	value string
}

type optionKind int

const (
	kindFlag optionKind = iota
	kindValue
)

type optionSpec struct {
	name string // canonical long name, for messages
	kind optionKind
	set  func(o *lineOptions, value string) error
}

var featureChoices = []string{"fast-deps", "truststore", "no-binary-enable-wheel-cache"}

// strongHashes are the algorithms pip accepts in --hash.
var strongHashes = []string{"sha256", "sha384", "sha512"}

var (
	longOptions  map[string]*optionSpec
	shortOptions map[string]*optionSpec
	longNames    []string // sorted, for abbreviation matching
)

func init() {
	appendTo := func(field func(*lineOptions) *[]string) func(*lineOptions, string) error {
		return func(o *lineOptions, v string) error {
			p := field(o)
			*p = append(*p, v)
			return nil
		}
	}
	flag := func(field func(*lineOptions) *bool) func(*lineOptions, string) error {
		return func(o *lineOptions, _ string) error {
			*field(o) = true
			return nil
		}
	}
	indexURL := &optionSpec{"--index-url", kindValue, func(o *lineOptions, v string) error { o.indexURL = v; return nil }}
	constraint := &optionSpec{"--constraint", kindValue, appendTo(func(o *lineOptions) *[]string { return &o.constraints })}
	requirement := &optionSpec{"--requirement", kindValue, appendTo(func(o *lineOptions) *[]string { return &o.requirements })}
	editable := &optionSpec{"--editable", kindValue, appendTo(func(o *lineOptions) *[]string { return &o.editables })}
	findLinks := &optionSpec{"--find-links", kindValue, appendTo(func(o *lineOptions) *[]string { return &o.findLinks })}
	configSettings := &optionSpec{"--config-settings", kindValue, func(o *lineOptions, v string) error {
		if !strings.Contains(v, "=") {
			return fmt.Errorf("--config-settings value %q is not of the form KEY=VALUE", v)
		}
		o.configSettings = append(o.configSettings, v)
		return nil
	}}
	longOptions = map[string]*optionSpec{
		"--index-url":       indexURL,
		"--pypi-url":        indexURL,
		"--extra-index-url": {"--extra-index-url", kindValue, appendTo(func(o *lineOptions) *[]string { return &o.extraIndexURLs })},
		"--no-index":        {"--no-index", kindFlag, flag(func(o *lineOptions) *bool { return &o.noIndex })},
		"--constraint":      constraint,
		"--requirement":     requirement,
		"--editable":        editable,
		"--find-links":      findLinks,
		"--no-binary": {"--no-binary", kindValue, func(o *lineOptions, v string) error {
			o.binaryOps = append(o.binaryOps, binaryOp{only: false, value: v})
			return nil
		}},
		"--only-binary": {"--only-binary", kindValue, func(o *lineOptions, v string) error {
			o.binaryOps = append(o.binaryOps, binaryOp{only: true, value: v})
			return nil
		}},
		"--prefer-binary":  {"--prefer-binary", kindFlag, flag(func(o *lineOptions) *bool { return &o.preferBinary })},
		"--require-hashes": {"--require-hashes", kindFlag, flag(func(o *lineOptions) *bool { return &o.requireHashes })},
		"--pre":            {"--pre", kindFlag, flag(func(o *lineOptions) *bool { return &o.pre })},
		"--trusted-host":   {"--trusted-host", kindValue, appendTo(func(o *lineOptions) *[]string { return &o.trustedHosts })},
		"--use-feature": {"--use-feature", kindValue, func(o *lineOptions, v string) error {
			for _, c := range featureChoices {
				if v == c {
					o.features = append(o.features, v)
					return nil
				}
			}
			return fmt.Errorf("--use-feature value %q is not one of %s", v, strings.Join(featureChoices, ", "))
		}},
		"--global-option": {"--global-option", kindValue, appendTo(func(o *lineOptions) *[]string { return &o.globalOptions })},
		"--hash": {"--hash", kindValue, func(o *lineOptions, v string) error {
			algo, _, ok := strings.Cut(v, ":")
			if !ok {
				return fmt.Errorf("--hash value %q is not a hash name followed by a value, like --hash=sha256:<hex digest>", v)
			}
			for _, h := range strongHashes {
				if algo == h {
					o.hashes = append(o.hashes, v)
					return nil
				}
			}
			return fmt.Errorf("--hash value %q uses %q; allowed hash algorithms are %s", v, algo, strings.Join(strongHashes, ", "))
		}},
		"--config-settings": configSettings,
	}
	shortOptions = map[string]*optionSpec{
		"-i": indexURL,
		"-c": constraint,
		"-r": requirement,
		"-e": editable,
		"-f": findLinks,
		"-C": configSettings,
	}
	for name := range longOptions {
		longNames = append(longNames, name)
	}
	sort.Strings(longNames)
}

// matchLong resolves a possibly abbreviated long option, as optparse does:
// an exact name wins, otherwise a unique prefix.
func matchLong(s string) (*optionSpec, error) {
	if spec, ok := longOptions[s]; ok {
		return spec, nil
	}
	var matches []string
	for _, name := range longNames {
		if strings.HasPrefix(name, s) {
			matches = append(matches, name)
		}
	}
	switch len(matches) {
	case 0:
		return nil, fmt.Errorf("unknown option %q", s)
	case 1:
		return longOptions[matches[0]], nil
	}
	return nil, fmt.Errorf("ambiguous option %q (could be %s)", s, strings.Join(matches, ", "))
}

// parseLineOptions parses the option words of one line.
func parseLineOptions(words []string) (*lineOptions, error) {
	o := &lineOptions{}
	for len(words) > 0 {
		arg := words[0]
		words = words[1:]
		switch {
		case arg == "--":
			o.positional = append(o.positional, words...)
			return o, nil
		case strings.HasPrefix(arg, "--"):
			name, value, explicit := strings.Cut(arg, "=")
			spec, err := matchLong(name)
			if err != nil {
				return nil, err
			}
			switch {
			case spec.kind == kindFlag && explicit:
				return nil, fmt.Errorf("option %s takes no value, got %q", spec.name, arg)
			case spec.kind == kindValue && !explicit:
				if len(words) == 0 {
					return nil, fmt.Errorf("option %s needs a value", spec.name)
				}
				value = words[0]
				words = words[1:]
			}
			if err := spec.set(o, value); err != nil {
				return nil, err
			}
			o.used = append(o.used, spec.name)
		case len(arg) > 1 && arg[0] == '-':
			// Every short option pip allows in files takes a value, so
			// the rest of the word, or else the next word, is it.
			flagName := "-" + firstRune(arg[1:])
			spec, ok := shortOptions[flagName]
			if !ok {
				return nil, fmt.Errorf("unknown option %q", flagName)
			}
			value := arg[len(flagName):]
			if value == "" {
				if len(words) == 0 {
					return nil, fmt.Errorf("option %s needs a value", flagName)
				}
				value = words[0]
				words = words[1:]
			}
			if err := spec.set(o, value); err != nil {
				return nil, err
			}
			o.used = append(o.used, spec.name)
		default:
			o.positional = append(o.positional, arg)
		}
	}
	return o, nil
}

func firstRune(s string) string {
	for _, r := range s {
		return string(r)
	}
	return ""
}

// splitArgsOptions separates a line into the requirement part and the
// option part as pip does: words split on single spaces, and options start
// at the first word beginning with '-'. Only the option part is
// shell-split, because markers contain quotes that must survive.
func splitArgsOptions(line string) (args, opts string) {
	rest := line
	var argWords []string
	for {
		word, tail, more := strings.Cut(rest, " ")
		if strings.HasPrefix(word, "-") {
			return strings.Join(argWords, " "), rest
		}
		argWords = append(argWords, word)
		if !more {
			return strings.Join(argWords, " "), ""
		}
		rest = tail
	}
}
