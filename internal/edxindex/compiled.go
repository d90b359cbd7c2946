package edxindex

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// This file reads pip-compile output: `name[extras]==version ; marker`
// pins, each followed by its `# via` block. It is deliberately minimal:
// resolver/reqfile is the general requirement-file parser.

// pin is one pinned requirement of a compiled file.
type pin struct {
	name    string   // normalized
	spelled string   // as written in the file
	extras  []string // normalized
	version string
	marker  string
	via     []string // as written: "-r requirements/edx/kernel.in", "-c ...", or a name
}

// parseCompiled reads pip-compile output. It ignores options, hash
// continuation lines and comments other than `# via` blocks.
func parseCompiled(data []byte) ([]pin, error) {
	var pins []pin
	seen := map[string]bool{}
	cur := -1      // index of the pin whose via block may follow
	inVia := false // inside a multi-line via block
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), " \t\r")
		trimmed := strings.TrimSpace(line)
		indented := line != trimmed
		switch {
		case trimmed == "":
			cur, inVia = -1, false
		case indented && strings.HasPrefix(trimmed, "--hash"):
			// Continuation of a hashed pin.
		case indented && strings.HasPrefix(trimmed, "#"):
			text := strings.TrimSpace(strings.TrimPrefix(trimmed, "#"))
			switch {
			case cur < 0:
			case text == "via":
				inVia = true
			case strings.HasPrefix(text, "via "):
				pins[cur].via = append(pins[cur].via, splitVia(text[len("via "):])...)
				inVia = false
			case inVia && text != "" && strings.HasPrefix(trimmed, "#  "):
				// Parents are indented under "# via"; prose is not.
				pins[cur].via = append(pins[cur].via, text)
			default:
				inVia = false
			}
		case strings.HasPrefix(trimmed, "#"):
			cur, inVia = -1, false
		case strings.HasPrefix(trimmed, "-"):
			// Options (-e, -r, -c, --index-url...) are not pins.
			cur, inVia = -1, false
		default:
			p, err := parsePin(trimmed)
			if err != nil {
				return nil, fmt.Errorf("reading line %d: %w", n, err)
			}
			if seen[p.name] {
				return nil, fmt.Errorf("reading line %d: %q pinned twice", n, p.name)
			}
			seen[p.name] = true
			pins = append(pins, p)
			cur, inVia = len(pins)-1, false
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading compiled requirements: %w", err)
	}
	return pins, nil
}

func splitVia(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// parsePin reads `name[extras]==version [; marker] [\] [# via a, b]`.
func parsePin(line string) (pin, error) {
	body := strings.TrimSuffix(strings.TrimSpace(line), "\\")
	var via []string
	if i := strings.Index(body, "# via "); i >= 0 {
		via = splitVia(body[i+len("# via "):])
		body = body[:i]
	} else if i := strings.Index(body, " #"); i >= 0 {
		body = body[:i]
	}
	r, err := parseRequirement(body)
	if err != nil {
		return pin{}, err
	}
	cs, _ := parseSpecifier(r.spec)
	if len(cs) != 1 || cs[0].op != "==" || cs[0].prefix {
		return pin{}, fmt.Errorf("parsing pin %q: want name==version", line)
	}
	spelled, _, _ := strings.Cut(strings.TrimSpace(body), "[")
	spelled, _, _ = strings.Cut(spelled, "=")
	return pin{
		name:    r.name,
		spelled: strings.TrimSpace(spelled),
		extras:  r.extras,
		version: cs[0].raw,
		marker:  r.marker,
		via:     via,
	}, nil
}

// constraint is one line of a constraints file.
type constraint struct {
	text string // the line as written, without comments
	req  requirement
}

// parseConstraints reads a constraints file, skipping comments and options.
func parseConstraints(data []byte) ([]constraint, error) {
	var out []constraint
	for n, line := range strings.Split(string(data), "\n") {
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "-") {
			continue
		}
		r, err := parseRequirement(line)
		if err != nil {
			return nil, fmt.Errorf("reading constraints line %d: %w", n+1, err)
		}
		out = append(out, constraint{text: line, req: r})
	}
	return out, nil
}
