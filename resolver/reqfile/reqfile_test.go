package reqfile

import (
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// parseMem parses /w/req.txt from an in-memory tree whose paths are
// relative to /w, with /w as the work directory and an empty environment.
func parseMem(files map[string]string, opts ...Option) (*File, error) {
	m := memFS{}
	for name, content := range files {
		m[filepath.Clean("/w/"+name)] = content
	}
	opts = append([]Option{withFileSystem(m), WithWorkDir("/w"), WithEnv(nil)}, opts...)
	return ParseFile("/w/req.txt", opts...)
}

func mustParseMem(t *testing.T, files map[string]string, opts ...Option) *File {
	t.Helper()
	f, err := parseMem(files, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// wantLines checks that rs, each written as one line by line, are want.
func wantLines(t *testing.T, rs []Requirement, line func(Requirement) string, want ...string) {
	t.Helper()
	var got []string
	for _, r := range rs {
		got = append(got, line(r))
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// summary is the gist of a requirement for table tests.
func summary(r Requirement) string {
	s := r.Name()
	if r.Req != nil {
		s += r.Req.Specifiers.String()
	}
	if r.URL != "" {
		s += " @ " + r.URL
	}
	if r.Marker != nil {
		s += " ; " + r.Marker.String()
	}
	return s
}

func TestCommentsStartAtLineStartOrAfterWhitespace(t *testing.T) {
	for _, tc := range []struct {
		line, want, comment string
	}{
		{"foo==1 # pinned for a reason", "foo==1", "pinned for a reason"},
		{"foo==1\t#tab", "foo==1", "tab"},
		{"# only a comment", "", ""},
		{"   # indented comment", "", ""},
		{"https://h/pkg-1.0.tar.gz#egg=pkg", "pkg @ https://h/pkg-1.0.tar.gz#egg=pkg", ""},
		{"https://h/pkg-1.0.tar.gz#egg=pkg # c", "pkg @ https://h/pkg-1.0.tar.gz#egg=pkg", "c"},
		{"foo==1 #", "foo==1", ""},
	} {
		f := mustParseMem(t, map[string]string{"req.txt": tc.line + "\n"})
		if tc.want == "" {
			if len(f.Requirements) != 0 {
				t.Errorf("%q: got %d requirements, want none", tc.line, len(f.Requirements))
			}
			continue
		}
		if len(f.Requirements) != 1 {
			t.Fatalf("%q: %d requirements", tc.line, len(f.Requirements))
		}
		r := f.Requirements[0]
		if got := summary(r); got != tc.want || r.Comment != tc.comment {
			t.Errorf("%q: got %q comment %q, want %q comment %q", tc.line, got, r.Comment, tc.want, tc.comment)
		}
	}
}

func TestContinuationsJoinAndKeepTheFirstLineNumber(t *testing.T) {
	f := mustParseMem(t, map[string]string{"req.txt": "" +
		"first==1\n" +
		"foo\\\n" + // 2
		"==1.0 \\\n" +
		"  --hash=sha256:aa\n" +
		"bar==2 \\\n" + // 5
		"# a comment line ends the continuation\n" +
		"baz==3 # comment \\\n" + // 7: a trailing comment with '\' swallows line 8
		"swallowed==4\n" +
		"last==5 \\"}) // 9: '\' at the end of the file
	wantLines(t, f.Requirements, func(r Requirement) string {
		return r.Source.String() + " " + summary(r) + " " + strings.Join(r.Hashes, ",")
	},
		"/w/req.txt:1 first==1 ",
		"/w/req.txt:2 foo==1.0 sha256:aa",
		"/w/req.txt:5 bar==2 ",
		"/w/req.txt:7 baz==3 ",
		"/w/req.txt:9 last==5 ",
	)
}

func TestEnvVarsExpandOnlyInBracedUppercaseForm(t *testing.T) {
	env := map[string]string{"HOST": "example.com", "VER": "1.2", "EMPTY": "", "lower": "x"}
	f := mustParseMem(t, map[string]string{"req.txt": "" +
		"--index-url https://${HOST}/simple\n" +
		"foo==${VER}\n" +
		"--extra-index-url https://$HOST/a\n" +
		"--extra-index-url https://${lower}/b\n" +
		"--extra-index-url https://${EMPTY}${UNSET}/c\n"}, WithEnv(env))
	if f.Options.IndexURL != "https://example.com/simple" {
		t.Errorf("index URL %q", f.Options.IndexURL)
	}
	want := []string{"https://$HOST/a", "https://${lower}/b", "https://${EMPTY}${UNSET}/c"}
	if !reflect.DeepEqual(f.Options.ExtraIndexURLs, want) {
		t.Errorf("extra index URLs %q, want %q", f.Options.ExtraIndexURLs, want)
	}
	r := f.Requirements[0]
	if summary(r) != "foo==1.2" || r.Raw != "foo==${VER}" {
		t.Errorf("requirement %q raw %q, want foo==1.2 written as foo==${VER}", summary(r), r.Raw)
	}
	if len(f.Warnings) != 2 || !strings.Contains(f.Warnings[0].Message, "${EMPTY}") || !strings.Contains(f.Warnings[1].Message, "${UNSET}") {
		t.Errorf("warnings %v, want ${EMPTY} and ${UNSET} left as written", f.Warnings)
	}
}

func TestIncludesAreRelativeToTheIncludingFile(t *testing.T) {
	f := mustParseMem(t, map[string]string{
		"req.txt":       "-r sub/a.txt\n-c sub/c.txt\nroot==1\n",
		"sub/a.txt":     "a==1\n\n-r ../shared/s.txt\n",
		"sub/c.txt":     "a<2\n",
		"shared/s.txt":  "s==3\n",
		"other/req.txt": "never==1\n",
	})
	wantFiles := []string{"/w/req.txt", "/w/sub/a.txt", "/w/shared/s.txt", "/w/sub/c.txt"}
	if !reflect.DeepEqual(f.Files, wantFiles) {
		t.Errorf("files %q, want %q", f.Files, wantFiles)
	}
	wantLines(t, append(f.Requirements, f.Constraints...), func(r Requirement) string {
		var via []string
		for _, v := range r.Via {
			via = append(via, v.String())
		}
		return summary(r) + " at " + r.Source.String() + " via [" + strings.Join(via, " ") + "]"
	},
		"a==1 at /w/sub/a.txt:1 via [/w/req.txt:1]",
		"s==3 at /w/shared/s.txt:1 via [/w/req.txt:1 /w/sub/a.txt:3]",
		"root==1 at /w/req.txt:3 via []",
		"a<2 at /w/sub/c.txt:1 via [/w/req.txt:2]",
	)
	if !f.Constraints[0].Constraint || f.Requirements[0].Constraint {
		t.Error("Constraint flags wrong")
	}
}

func TestIncludeCyclesAreReportedWithTheChain(t *testing.T) {
	_, err := parseMem(map[string]string{
		"req.txt":   "ok==1\n-r a.txt\n",
		"a.txt":     "-c sub/b.txt\n",
		"sub/b.txt": "x<1\n-r ../req.txt\n",
	})
	want := "/w/sub/b.txt:2: -r ../req.txt: including /w/req.txt makes a cycle: /w/req.txt -> /w/a.txt -> /w/sub/b.txt -> /w/req.txt"
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
	// Including the same file twice without a cycle is fine, as for pip;
	// the second time adds nothing pip would not already have.
	f := mustParseMem(t, map[string]string{"req.txt": "-r c.txt\n-r c.txt\n", "c.txt": "c==1\n"})
	if len(f.Requirements) != 1 || len(f.Files) != 2 {
		t.Errorf("diamond: %d requirements from files %q, want 1 from 2", len(f.Requirements), f.Files)
	}
}

func TestMissingIncludesNameTheIncludingLine(t *testing.T) {
	files := map[string]string{"req.txt": "a==1\n-c missing.txt\nb==2\n"}
	_, err := parseMem(files)
	var lineErr *Error
	if !errors.As(err, &lineErr) || lineErr.Source != (Source{File: "/w/req.txt", Line: 2}) || lineErr.Line != "-c missing.txt" {
		t.Errorf("error %v, want one at /w/req.txt:2", err)
	}
	f, err := parseMem(files, IgnoreMissing())
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Requirements) != 2 || len(f.Warnings) != 1 ||
		f.Warnings[0].String() != "/w/req.txt:2: -c missing.txt: /w/missing.txt does not exist; skipped (IgnoreMissing)" {
		t.Errorf("with IgnoreMissing: %d requirements, warnings %v", len(f.Requirements), f.Warnings)
	}
	// IgnoreMissing skips only files that do not exist.
	if _, err := parseMem(map[string]string{"req.txt": "-r dir\n", "dir/x": ""}, IgnoreMissing()); err == nil {
		t.Error("including a directory succeeded")
	}
}

func TestIncludesOverHTTPAreRefused(t *testing.T) {
	for _, line := range []string{"-r https://example.com/req.txt", "-c http://example.com/c.txt", "--requirement=HTTPS://x/r.txt"} {
		_, err := parseMem(map[string]string{"req.txt": line + "\n"})
		if err == nil || !strings.Contains(err.Error(), "not supported: larder works offline") || !strings.HasPrefix(err.Error(), "/w/req.txt:1: ") {
			t.Errorf("%s: error %v", line, err)
		}
	}
	if _, err := ParseFile("https://example.com/req.txt"); err == nil {
		t.Error("ParseFile of an https URL succeeded")
	}
	f := mustParseMem(t, map[string]string{"req.txt": "-r file:///w/sub/r.txt\n", "sub/r.txt": "x==1\n"})
	if len(f.Requirements) != 1 {
		t.Errorf("file: URL include gave %d requirements", len(f.Requirements))
	}
}

func TestConstraintsOnlyRestrict(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"https://h/p.tar.gz", "a constraint must name a project"},
		{"-e git+https://h/r.git#egg=r", "editable requirements are not allowed in a -c file"},
		{"foo[bar]<2", "constraints cannot have extras"},
	} {
		_, err := parseMem(map[string]string{"req.txt": "-c c.txt\n", "c.txt": tc.line + "\n"})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "/w/c.txt:1: ") {
			t.Errorf("%s: error %v, want %q", tc.line, err, tc.want)
		}
	}
	// Like pip, a -r inside a -c file reads requirements, not constraints.
	f := mustParseMem(t, map[string]string{"req.txt": "-c c.txt\n", "c.txt": "foo<2\n-r r.txt\n", "r.txt": "bar==1\n"})
	if len(f.Constraints) != 1 || len(f.Requirements) != 1 || f.Requirements[0].Name() != "bar" {
		t.Errorf("constraints %d, requirements %+v", len(f.Constraints), f.Requirements)
	}
}

func TestGlobalOptionsFollowPip(t *testing.T) {
	f := mustParseMem(t, map[string]string{"req.txt": "" +
		"--extra-index-url https://dropped/simple\n" +
		"-i https://main/simple\n" +
		"--extra-index https://extra/simple\n" + // abbreviation
		"--pre\n--prefer-binary\n--require-hashes\n" +
		"--trusted-host h1 --trusted-host=h2:8080\n" +
		"--use-feature=fast-deps\n--use-feature fast-deps\n" +
		"-f ./wheels\n-fhttps://links/\n" +
		"--no-binary :all:\n--only-binary Foo_Bar,baz\n--no-binary baz\n" +
		"foo==1 --only-binary qux\n", // applies even on a requirement line
		"wheels/a.whl": "",
	})
	want := Options{
		IndexURL: "https://main/simple", ExtraIndexURLs: []string{"https://extra/simple"},
		FindLinks: []string{"/w/./wheels", "https://links/"},
		NoBinary:  []string{":all:", "baz"}, OnlyBinary: []string{"foo-bar", "qux"},
		Pre: true, PreferBinary: true, RequireHashes: true,
		TrustedHosts: []string{"h1", "h2:8080"}, Features: []string{"fast-deps"},
	}
	if !reflect.DeepEqual(f.Options, want) {
		t.Errorf("options\n%+v\nwant\n%+v", f.Options, want)
	}
	for _, tc := range []struct {
		name           string
		binary, source bool
	}{{"Foo.Bar", true, false}, {"baz", false, true}, {"qux", true, false}, {"other", false, true}} {
		if b, s := f.Options.AllowsBinary(tc.name); b != tc.binary || s != tc.source {
			t.Errorf("AllowsBinary(%q) = %v, %v; want %v, %v", tc.name, b, s, tc.binary, tc.source)
		}
	}

	f = mustParseMem(t, map[string]string{"req.txt": "-i https://a/\n--no-index\n-i https://b/\n--extra-index-url https://c/\n--only-binary=:all:,:none:,x\n"})
	if !f.Options.NoIndex || f.Options.IndexURL != "" || f.Options.ExtraIndexURLs != nil ||
		f.Options.OnlyBinary[0] != "x" || len(f.Options.OnlyBinary) != 1 {
		t.Errorf("--no-index and :none:: %+v", f.Options)
	}
}

func TestOptionsPipIgnoresAreWarnedAbout(t *testing.T) {
	f := mustParseMem(t, map[string]string{"req.txt": "foo==1 --pre\n-r r.txt --index-url https://x/\n-e ./p -e ./q\n--hash=sha256:aa\n--prefer-binary extra words\n", "r.txt": "", "p/setup.py": "", "q/setup.py": ""})
	if f.Options.Pre || f.Options.IndexURL != "" {
		t.Errorf("ignored options took effect: %+v", f.Options)
	}
	var msgs []string
	for _, w := range f.Warnings {
		msgs = append(msgs, w.String())
	}
	want := []string{
		"/w/req.txt:1: pip ignores --pre on a requirement line",
		"/w/req.txt:2: pip ignores --index-url on a -r/-c line",
		`/w/req.txt:3: pip installs only the first -e of a line; ignoring ["./q"]`,
		"/w/req.txt:4: --hash without a requirement on the line is ignored",
		`/w/req.txt:5: ignoring "extra words" after the options, as pip does`,
	}
	if !reflect.DeepEqual(msgs, want) {
		t.Errorf("warnings\n%s\nwant\n%s", strings.Join(msgs, "\n"), strings.Join(want, "\n"))
	}
}

func TestBadLinesAreErrorsThatNameFileAndLine(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"--frobnicate", `unknown option "--frobnicate"`},
		{"-x foo", `unknown option "-x"`},
		{"--pr", `ambiguous option "--pr" (could be --pre, --prefer-binary)`},
		{"--pre=1", "option --pre takes no value"},
		{"-r", "option -r needs a value"},
		{"--index-url", "option --index-url needs a value"},
		{"foo==1 --hash=md5:00", "allowed hash algorithms are sha256, sha384, sha512"},
		{"foo==1 --hash=abc", "is not a hash name followed by a value"},
		{`foo==1 --global-option="x`, "no closing quotation"},
		{`foo==1 --global-option=x\ `, "no escaped character"},
		{"foo=1.0", "did you mean '=='?"},
		{"./nothere", "it looks like a path, but no such directory or archive exists"},
		{"./empty", "is not installable: it has neither setup.py nor pyproject.toml"},
		{"-e requests", "is not a valid editable requirement"},
		{"-e git+https://h/r.git", `needs "#egg=NAME"`},
		{"git+https://h/r.git@#egg=r", "the revision after '@' is empty"},
		{"https://h/notawheel.whl", "is not a valid wheel file name"},
		{"https://h/p.tar.gz#egg=", "invalid requirement"},
		{`foo ; python_version <<< "3"`, "in marker"},
		{"--use-feature=warp", "is not one of fast-deps"},
		{"--no-binary --pre", `--no-binary needs a value, got "--pre"`},
		{"foo -C novalue", "is not of the form KEY=VALUE"},
		{"git+https://h/r.git@v1#name==1", `URL fragment "#name==1" has no egg=`},
		{"file://otherhost/x.tar.gz", `names host "otherhost"`},
	} {
		_, err := parseMem(map[string]string{"req.txt": "ok==1\n" + tc.line + "\n", "empty/README": ""})
		var lineErr *Error
		if !errors.As(err, &lineErr) {
			t.Errorf("%s: error %v is not an *Error", tc.line, err)
			continue
		}
		if prefix := "/w/req.txt:2: " + strings.TrimSpace(tc.line) + ": "; !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got  %v\n want %s...%s", tc.line, err, prefix, tc.want)
		}
	}
}

func TestHashesBelongToTheirRequirement(t *testing.T) {
	f := mustParseMem(t, map[string]string{"req.txt": "" +
		"foo==1.0 --hash=sha256:aa --hash sha512:bb \\\n    --hash=sha256:cc\n" +
		"-e ./p --hash=sha256:dd\n" +
		"bar==2 --global-option=--x -C k=v --config-settings=k=w\n",
		"p/pyproject.toml": ""})
	foo, p, bar := f.Requirements[0], f.Requirements[1], f.Requirements[2]
	if !reflect.DeepEqual(foo.Hashes, []string{"sha256:aa", "sha512:bb", "sha256:cc"}) {
		t.Errorf("foo hashes %q", foo.Hashes)
	}
	if p.Hashes != nil {
		t.Errorf("editable kept hashes %q; pip ignores them", p.Hashes)
	}
	if !reflect.DeepEqual(bar.GlobalOptions, []string{"--x"}) || !reflect.DeepEqual(bar.ConfigSettings, []string{"k=v", "k=w"}) {
		t.Errorf("bar options %q %q", bar.GlobalOptions, bar.ConfigSettings)
	}
}

func TestURLAndVCSRequirementsAreTakenApart(t *testing.T) {
	for _, tc := range []struct {
		line     string
		name     string
		spec     string
		url      string
		vcs      *VCS
		editable bool
		extras   []string
	}{
		{line: "git+https://host/org/repo.git@REV#egg=name&subdirectory=dir", name: "name",
			url: "git+https://host/org/repo.git@REV#egg=name&subdirectory=dir",
			vcs: &VCS{Kind: "git", URL: "https://host/org/repo.git", Rev: "REV", Subdirectory: "dir", Egg: "name"}},
		{line: "name[Extra] @ git+https://host/org/repo.git@v1.0", name: "name", extras: []string{"extra"},
			url: "git+https://host/org/repo.git@v1.0", vcs: &VCS{Kind: "git", URL: "https://host/org/repo.git", Rev: "v1.0"}},
		{line: "git+ssh://git@host/org/repo.git@abc#egg=r", name: "r", url: "git+ssh://git@host/org/repo.git@abc#egg=r",
			vcs: &VCS{Kind: "git", URL: "ssh://git@host/org/repo.git", Rev: "abc", Egg: "r"}},
		{line: "git+https://host/r.git#egg=mongo==0.1.0+edx.2", name: "mongo", spec: "==0.1.0+edx.2",
			url: "git+https://host/r.git#egg=mongo==0.1.0+edx.2", vcs: &VCS{Kind: "git", URL: "https://host/r.git", Egg: "mongo==0.1.0+edx.2"}},
		{line: "git+https://host/r.git@branch/x", url: "git+https://host/r.git@branch/x",
			vcs: &VCS{Kind: "git", URL: "https://host/r.git", Rev: "branch/x"}},
		{line: "-e git+https://host/r.git@1.0#egg=r", name: "r", url: "git+https://host/r.git@1.0#egg=r", editable: true,
			vcs: &VCS{Kind: "git", URL: "https://host/r.git", Rev: "1.0", Egg: "r"}},
		{line: "-e git://host/r#egg=r", name: "r", url: "git+git://host/r#egg=r", editable: true,
			vcs: &VCS{Kind: "git", URL: "git://host/r", Egg: "r"}},
		{line: "hg+https://host/r@tip#egg=r", name: "r", url: "hg+https://host/r@tip#egg=r",
			vcs: &VCS{Kind: "hg", URL: "https://host/r", Rev: "tip", Egg: "r"}},
		{line: "https://host/foo_bar-1.0-py3-none-any.whl", name: "foo-bar", spec: "==1.0", url: "https://host/foo_bar-1.0-py3-none-any.whl"},
		{line: "https://host/p-1.0.tar.gz", url: "https://host/p-1.0.tar.gz"},
		{line: "https://host/p-1.0.tar.gz#sha256=abcd", url: "https://host/p-1.0.tar.gz#sha256=abcd"},
		{line: "foo @ https://host/foo-1.0.tar.gz", name: "foo", url: "https://host/foo-1.0.tar.gz"},
	} {
		f, err := parseMem(map[string]string{"req.txt": tc.line + "\n"})
		if err != nil {
			t.Errorf("%s: %v", tc.line, err)
			continue
		}
		r := f.Requirements[0]
		spec := ""
		if r.Req != nil {
			spec = r.Req.Specifiers.String()
		}
		if r.Name() != tc.name || spec != tc.spec || r.URL != tc.url || r.Editable != tc.editable ||
			!reflect.DeepEqual(r.VCS, tc.vcs) || !reflect.DeepEqual(r.Extras, tc.extras) || r.LocalPath != "" {
			t.Errorf("%s:\n got  name %q spec %q url %q editable %v extras %q VCS %+v local %q",
				tc.line, r.Name(), spec, r.URL, r.Editable, r.Extras, r.VCS, r.LocalPath)
		}
	}
}

func TestLocalPathsResolveAgainstTheWorkDir(t *testing.T) {
	files := map[string]string{
		"req.txt":                             "./pkg\n./pkg[Dev]\n-e pkg\n-e common/lib/absent\n../out/foo_bar-2.0-py3-none-any.whl\nsub/a-1.0.tar.gz\n",
		"pkg/setup.py":                        "",
		"sub/a-1.0.tar.gz":                    "",
		"../out/foo_bar-2.0-py3-none-any.whl": "",
	}
	f := mustParseMem(t, files, WithWorkDir("/w"))
	wantLines(t, f.Requirements, func(r Requirement) string {
		return strings.Join([]string{r.Name(), r.LocalPath, r.URL, strings.Join(r.Extras, ","), map[bool]string{true: "-e"}[r.Editable]}, "|")
	},
		"|/w/pkg|file:///w/pkg||",
		"|/w/pkg|file:///w/pkg|dev|",
		"|/w/pkg|file:///w/pkg||-e",
		"|/w/common/lib/absent|file:///w/common/lib/absent||-e",
		"foo-bar|/out/foo_bar-2.0-py3-none-any.whl|file:///out/foo_bar-2.0-py3-none-any.whl||",
		"|/w/sub/a-1.0.tar.gz|file:///w/sub/a-1.0.tar.gz||",
	)
	if len(f.Warnings) != 1 || !strings.Contains(f.Warnings[0].Message, "editable path /w/common/lib/absent does not exist") {
		t.Errorf("warnings %v", f.Warnings)
	}
}

func TestMarkersSplitLikePip(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{`foo==1.0 ; python_version < "3.12"`, `foo==1.0 ; python_version < "3.12"`},
		{`foo;sys_platform=='linux'`, `foo ; sys_platform == "linux"`},
		{`foo>=1 ; `, `foo>=1`},
		// A URL's marker needs "; " since ';' may be part of the URL.
		{`https://h/p.tar.gz#egg=p ; os_name == "posix"`, `p @ https://h/p.tar.gz#egg=p ; os_name == "posix"`},
		{`p @ https://h/p.tar.gz ; os_name == "posix"`, `p @ https://h/p.tar.gz ; os_name == "posix"`},
	} {
		f, err := parseMem(map[string]string{"req.txt": tc.line + "\n"})
		if err != nil {
			t.Errorf("%s: %v", tc.line, err)
			continue
		}
		if got := summary(f.Requirements[0]); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestViaAnnotationsOfPipCompile(t *testing.T) {
	f := mustParseMem(t, map[string]string{"req.txt": "" +
		"a==1\n    # via b\n" +
		"c==1\n    # via\n    #   -r requirements/base.in\n    #   -c constraints.txt\n    #   d\n" +
		"e==1 \\\n    --hash=sha256:00\n    # via f\n" +
		"g==1  # via h, -r x.in\n" +
		"i==1\n# via not an annotation: not indented\n" +
		"j==1\n    # via\n    #   k\n# unrelated comment\n    #   not-an-entry\n" +
		"l==1 \\\n    # via\n    #   m\n"})
	got := map[string][]string{}
	for _, r := range f.Requirements {
		got[r.Name()] = r.ViaNames
	}
	want := map[string][]string{
		"a": {"b"},
		"c": {"-r requirements/base.in", "-c constraints.txt", "d"},
		"e": {"f"},
		"g": {"h", "-r x.in"},
		"i": nil,
		"j": {"k"},
		"l": {"m"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestContentIsDecodedLikePip(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		ok         bool
	}{
		{"utf-8 BOM", "\xef\xbb\xbffoo==1\n", true},
		{"utf-16 LE BOM", "\xff\xfef\x00o\x00o\x00\n\x00", true},
		{"utf-16 BE BOM", "\xfe\xff\x00f\x00o\x00o\x00\n", true},
		{"latin-1 declaration", "# -*- coding: latin-1 -*-\nfoo # caf\xe9\n", true},
		{"declaration on line 2", "#!/bin/x\n# vim: set fileencoding=utf-8 :\nfoo\n", true},
		{"invalid utf-8", "foo # caf\xe9\n", false},
		{"unknown encoding", "# coding: klingon\nfoo\n", false},
		{"CR line ends", "x==1\rfoo\r", true},
	} {
		f, err := Parse(strings.NewReader(tc.data), "r.txt", withFileSystem(memFS{}))
		if (err == nil) != tc.ok {
			t.Errorf("%s: error %v, want ok %v", tc.name, err, tc.ok)
			continue
		}
		if tc.ok && f.Requirements[len(f.Requirements)-1].Name() != "foo" {
			t.Errorf("%s: got %+v", tc.name, f.Requirements)
		}
	}
}

func TestOptionWordsSplitLikeShlex(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{`--a b  c`, []string{"--a", "b", "c"}},
		{`--x="a b" 'c d'`, []string{"--x=a b", "c d"}},
		{`a\ b`, []string{"a b"}},
		{`"a\"b\\c\d"`, []string{`a"b\c\d`}},
		{`'a\b'`, []string{`a\b`}},
		{`'' x`, []string{"", "x"}},
		{`a#b`, []string{"a#b"}},
	} {
		got, err := splitOptionWords(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestParseFromReaderFindsIncludesNextToName(t *testing.T) {
	m := memFS{"/w/sub/inc.txt": "inc==1\n"}
	f, err := Parse(strings.NewReader("-r inc.txt\nown==2\n"), "/w/sub/main.txt", withFileSystem(m), WithWorkDir("/w"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Requirements) != 2 || f.Requirements[0].Source.File != "/w/sub/inc.txt" ||
		!reflect.DeepEqual(f.Files, []string{"/w/sub/main.txt", "/w/sub/inc.txt"}) {
		t.Errorf("got %+v, files %q", f.Requirements, f.Files)
	}
}
