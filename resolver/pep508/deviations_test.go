package pep508

import (
	"testing"
)

// This file records every place where the package deliberately differs
// from pip's vendored packaging 21.3, with the standard's text that
// decides. TestDeviationsFromPackaging checks our side; with python3 it
// also checks that 21.3 still answers differently, so that a stale entry
// shows up.

// deviation is one case: a marker evaluated in an environment, or a
// requirement parsed.
type deviation struct {
	name     string
	standard string // the text we follow, quoted

	marker string      // a marker to evaluate in env...
	env    Environment // (nil: CPython 3.11 on linux/amd64, no extra)
	ours   bool        // ...and our answer
	// packaging's answer, when it evaluates: true/false, or "raises".
	theirs string

	req        string // or a requirement to parse...
	reqValid   bool   // ...whether we accept it
	reqString  string // and, when we do, our String()
	theirsReq  string // packaging's str(), or "" when it rejects
	markerText string // or a marker whose String() differs from packaging's str()
}

var deviations = []deviation{
	{
		name: "a version comparison falls back to strings when the left side is no version",
		standard: `Dependency specifiers, Environment markers: "The <version_cmp> operators use the version ` +
			`comparison rules of the Version specifier specification when those are defined (that is when both ` +
			`sides have a valid version specifier). If there is no defined behaviour of this specification and ` +
			`the operator exists in Python, then the operator falls back to the Python behaviour."`,
		marker: `platform_release != "5.0"`, ours: true, theirs: "false",
	},
	{
		name: "the same fallback for a kernel release string",
		standard: `as above; packaging fixed this in pypa/packaging#816 ("markers: Consistently fallback to ` +
			`Python comparison rules")`,
		marker: `platform_release < "6"`, env: Environment{PlatformRelease: "5.15.0-91-generic"}, ours: true, theirs: "false",
	},
	{
		name: "extra names compare normalized",
		standard: `PEP 685: "When comparing extra names, tools MUST normalize the names being compared using the ` +
			`semantics outlined in PEP 503 for names."`,
		marker: `extra == "Dev_Tools"`, env: Environment{Extra: "dev-tools"}, ours: true, theirs: "false",
	},
	{
		name: "a missing extra is the empty string",
		standard: `the grammar defines extra "ONLY when defined by a containing layer"; outside one (a top-level ` +
			`requirement) there is no extra, which packaging 22 and later evaluate as ""`,
		marker: `extra == ""`, env: Environment{OSName: "posix"}, ours: true, theirs: "raises",
	},
	{
		name: "a pre-release interpreter satisfies ordered comparisons",
		standard: `PEP 440, Handling of pre-releases: "Pre-releases of any kind, including developmental releases, ` +
			`are implicitly excluded from all version specifiers, unless they are already present on the system"; ` +
			`the running interpreter is present on the system`,
		marker: `python_full_version > "3.13"`, env: Environment{PythonFullVersion: "3.14.0a1"}, ours: true, theirs: "false",
	},
	{
		name:     "an undefined comparison is false rather than an error",
		standard: `"Otherwise an error should be raised." Evaluate reports a bool, and a marker that cannot hold is false`,
		marker:   `os_name ~= "posix"`, ours: false, theirs: "raises",
	},
	{
		name:     "two literals whose right one names no variable compare false",
		standard: `as above: packaging looks the right literal up as a variable name and raises when there is none`,
		marker:   `"a" == "b"`, ours: false, theirs: "raises",
	},
	{
		name:     "a tab inside a string is a tab",
		standard: `python_str_c = (wsp | letter | digit | ...) with wsp = ' ' | '\t'; pyparsing expands tabs to spaces first`,
		marker:   "os_name == \"a\tb\"", env: Environment{OSName: "a\tb"}, ours: true, theirs: "false",
	},
	{
		name: "a backslash inside a string is a backslash",
		standard: `python_str has no escape sequences (and current packaging keeps the text as written); ` +
			`pyparsing turns \t \n \r \f into the characters`,
		marker: `os_name == "a\tb"`, env: Environment{OSName: `a\tb`}, ours: true, theirs: "false",
	},
	{
		name:     `"not" and "in" may be separated by any whitespace`,
		standard: `marker_op = version_cmp | (wsp* 'in') | (wsp* 'not' wsp+ 'in')`,
		req:      `name; os_name not  in "nt"`, reqValid: true, reqString: `name; os_name not in "nt"`,
	},
	{
		name:     "only spaces and tabs are whitespace",
		standard: `wsp = ' ' | '\t'; pyparsing also skips line breaks`,
		req:      "name\n>=1.0", reqValid: false, theirsReq: "name>=1.0",
	},
	{
		name: "specifier versions must be PEP 440 versions",
		standard: `Version specifiers: "The comparison operator determines the kind of version clause" and every ` +
			`clause's version is a PEP 440 version; packaging 22 removed LegacySpecifier`,
		req: "name>=abc", reqValid: false, theirsReq: "name>=abc",
	},
	{
		name: "a legacy version with a wildcard is no specifier either",
		standard: `Version specifiers: "The exclusive ordered comparison ... MUST NOT ... [use] a prefix match"; ` +
			`wildcards belong to == and != only`,
		req: "name>=1.0.*", reqValid: false, theirsReq: "name>=1.0.*",
	},
	{
		name:     `"===" ends where the grammar's version characters end`,
		standard: `version = wsp* ( letterOrDigit | '-' | '_' | '.' | '*' | '+' | '!' )+`,
		req:      `name===1.0;os_name=="a"`, reqValid: true, reqString: `name===1.0; os_name == "a"`, theirsReq: `name===1.0;os_name=="a"`,
	},
	{
		name:     "a URL may not hold control characters",
		standard: `URI_reference per RFC 3986, which has no control characters; Python strips some and keeps others`,
		req:      "name @ http://x/\x01", reqValid: false, theirsReq: "name@ http://x/\x01",
	},
	{
		name:     "extras are normalized and URLs are set off by spaces",
		standard: `PEP 685 normalization again; "name @ URL" is the spelling of PEP 440's direct references`,
		req:      "name[Dev_Tools]@http://x/y.whl", reqValid: true, reqString: "name[dev-tools] @ http://x/y.whl", theirsReq: "name[Dev_Tools]@ http://x/y.whl",
	},
	{
		name: "doubled parentheses keep their meaning when printed",
		standard: `marker_and = marker_expr wsp* 'and' marker_expr; 21.3 prints "x and ((a or b))" as ` +
			`"x and a or b", which means (x and a) or b`,
		markerText: `os_name == "x" and ((os_name == "a" or os_name == "b"))`,
		reqString:  `os_name == "x" and (os_name == "a" or os_name == "b")`,
		theirsReq:  `os_name == "x" and os_name == "a" or os_name == "b"`,
	},
	{
		name:       "a string holding a double quote is printed in single quotes",
		standard:   `python_str = (squote (python_str_c | dquote)* squote | ...); 21.3 prints "a"b", which does not parse`,
		markerText: `os_name == 'a"b'`, reqString: `os_name == 'a"b'`, theirsReq: `os_name == "a"b"`,
	},
}

func (d deviation) environment(t *testing.T) Environment {
	if d.env == nil {
		return linuxEnv(t, "linux/amd64:3.11")
	}
	env := linuxEnv(t, "linux/amd64:3.11")
	for k, v := range d.env {
		env[k] = v
	}
	if _, ok := d.env[Extra]; !ok {
		delete(env, Extra)
	}
	return env
}

func TestDeviationsFromPackaging(t *testing.T) {
	var markers, reqs []string
	var envs []Environment
	for _, d := range deviations {
		switch {
		case d.marker != "":
			m, err := ParseMarker(d.marker)
			if err != nil {
				t.Errorf("%s: ParseMarker(%q): %v", d.name, d.marker, err)
				continue
			}
			if got := m.Evaluate(d.environment(t)); got != d.ours {
				t.Errorf("%s: %s = %v, want %v", d.name, d.marker, got, d.ours)
			}
		case d.markerText != "":
			m, err := ParseMarker(d.markerText)
			if err != nil {
				t.Errorf("%s: ParseMarker(%q): %v", d.name, d.markerText, err)
			} else if got := m.String(); got != d.reqString {
				t.Errorf("%s: ParseMarker(%q).String() = %q, want %q", d.name, d.markerText, got, d.reqString)
			}
		default:
			r, err := ParseRequirement(d.req)
			if (err == nil) != d.reqValid {
				t.Errorf("%s: ParseRequirement(%q) error = %v, want valid = %v", d.name, d.req, err, d.reqValid)
			} else if err == nil && r.String() != d.reqString {
				t.Errorf("%s: ParseRequirement(%q).String() = %q, want %q", d.name, d.req, r, d.reqString)
			}
		}
	}
	if testing.Short() {
		return
	}
	// One python process for every case: each marker in its own
	// environment (the answers for the other environments are ignored).
	for _, d := range deviations {
		switch {
		case d.marker != "":
			markers = append(markers, d.marker)
			envs = append(envs, d.environment(t))
		case d.markerText != "":
			markers = append(markers, d.markerText)
			envs = append(envs, d.environment(t))
		default:
			reqs = append(reqs, d.req)
		}
	}
	mAns, rAns := askReference(t, envs, markers, reqs)
	mi, ri := 0, 0
	for _, d := range deviations {
		switch {
		case d.marker != "":
			a := mAns[mi].Eval[mi]
			mi++
			got := "false"
			switch {
			case a.Err != "" || a.ExtraDefaulted:
				got = "raises"
			case a.V:
				got = "true"
			}
			if got != d.theirs {
				t.Errorf("%s: packaging now says %s for %s, the table says %s", d.name, got, d.marker, d.theirs)
			}
		case d.markerText != "":
			a := mAns[mi]
			mi++
			if a.Str != d.theirsReq {
				t.Errorf("%s: packaging now prints %q, the table says %q", d.name, a.Str, d.theirsReq)
			}
		default:
			a := rAns[ri]
			ri++
			got := ""
			if a.Valid {
				got = a.Str
			}
			if got != d.theirsReq {
				t.Errorf("%s: packaging now gives %q for %q, the table says %q", d.name, got, d.req, d.theirsReq)
			}
		}
	}
}
