package reqfile

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/piptest"
)

// edxRoot is the copy of the edx-platform requirement files.
const edxRoot = "../../testdata/reqfile/edx-platform"

// edxFiles lists the requirement files under edxRoot, relative to it.
func edxFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(edxRoot, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ext := filepath.Ext(p); !d.IsDir() && (ext == ".txt" || ext == ".in") {
			rel, err := filepath.Rel(edxRoot, p)
			if err != nil {
				return err
			}
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if len(files) < 16 {
		t.Fatalf("found %d edx files under %s, want at least 16", len(files), edxRoot)
	}
	return files
}

func TestParseAgreesWithPipOnEdxFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("runs pip")
	}
	// pip cannot skip missing -r/-c files, and it checks that local
	// editables exist, so the copy gets the files the real checkout has.
	root := filepath.Join(t.TempDir(), "edx-platform")
	copyTree(t, edxRoot, root)
	for _, stub := range []string{
		"requirements/common_constraints.txt",
		"requirements/edx/coverage.txt",
		"variants/0f4edfb9/requirements/constraints.txt",
		"variants/0f4edfb9/requirements/edx-sandbox/shared.txt",
		"common/lib/sandbox-packages/setup.py",
		"common/lib/symmath/setup.py",
	} {
		if err := writeFile(filepath.Join(root, stub), ""); err != nil {
			t.Fatal(err)
		}
	}
	files := edxFiles(t)
	var cases []pipCase
	for _, f := range files {
		cases = append(cases, pipCase{File: filepath.Join(root, f), Cwd: root})
	}
	results := runPip(t, cases)
	failed := 0
	for i, c := range cases {
		if results[i].Error != "" {
			failed++
		}
		comparePip(t, files[i], c, results[i])
	}
	// Only the malformed variant fails, for pip and for us.
	if failed != 1 {
		t.Errorf("pip failed on %d edx files, want 1 (variants/000dbcc7/.../github.in)", failed)
	}
}

// corpusCase is a small tree of files; req.txt is the one parsed. Cases
// named "error ..." must fail for pip and for us; a case with stricter set
// is accepted by pip but rejected by us, for the reason given.
type corpusCase struct {
	name     string
	files    map[string]string
	env      map[string]string
	stricter string
	minPip   [2]int // the first pip release whose format the case needs
}

// trickyCorpus exercises each rule of pip's requirements file format.
var trickyCorpus = []corpusCase{
	{name: "comments", files: map[string]string{"req.txt": "# top comment\n  # indented comment\nfoo==1.0 # trailing\nbar>=2\t# tab before hash\nhttps://example.com/pkg-1.0.tar.gz#egg=pkg\n"}},
	{name: "comment after url fragment", files: map[string]string{"req.txt": "https://example.com/pkg-1.0.tar.gz#egg=pkg # and a comment\n"}},
	{name: "continuations", files: map[string]string{"req.txt": "foo\\\n==1.0\nbar \\\n  >=2 \\\n  ,<3\nbaz==1 \\\n# comment ends it\nqux==2\nlast==3 \\"}},
	{name: "comment with backslash does not continue", files: map[string]string{"req.txt": "# comment \\\nfoo==1\n"}},
	{name: "trailing comment swallows continuation", files: map[string]string{"req.txt": "foo==1 # c \\\nbar==2\nbaz==3\n"}},
	{name: "leading backslashes stripped on continuation", files: map[string]string{"req.txt": "\\\\foo\\\n==1\n"}},
	{name: "crlf and form feed", files: map[string]string{"req.txt": "foo==1\r\nbar==2\rbaz==3\fqux==4\vquux==5\n"}},
	{name: "unicode whitespace before comment", files: map[string]string{"req.txt": "foo==1\u00a0# c\nbar==2\u3000#x\n\u2003baz==3\u2003\n"}},
	{name: "python line separators", files: map[string]string{"req.txt": "a==1\x1cb==2\x1dc==3\x1ed==4\u2028e==5\u0085f==6\u2029g==7\n"}},
	{name: "abbreviated include options", files: map[string]string{"req.txt": "--requirem a.txt\n--cons=c.txt\n--editable ./pkg\n", "a.txt": "a==1\n", "c.txt": "a<2\n", "pkg/setup.py": ""}},
	{name: "error tab before option", files: map[string]string{"req.txt": "foo==1\t--hash=sha256:aa\n"}},
	{name: "utf8 bom", files: map[string]string{"req.txt": "\ufefffoo==1\n"}},
	{name: "env vars", env: map[string]string{"LARDER_T_HOST": "example.com", "LARDER_T_VER": "1.2", "LARDER_T_EMPTY": ""},
		files: map[string]string{"req.txt": "--index-url https://${LARDER_T_HOST}/simple\nfoo==${LARDER_T_VER}\nbar==1.0 ; python_version >= \"${LARDER_T_VER}\"\n--extra-index-url https://${LARDER_T_UNSET}/x\n--extra-index-url https://$LARDER_T_HOST/y\n--extra-index-url https://${larder_t_host}/z\n--trusted-host ${LARDER_T_EMPTY}h\n"}},
	{name: "includes relative to the including file", files: map[string]string{
		"req.txt":          "-r sub/a.txt\n-c sub/c.txt\nroot==1\n--requirement=sub/b.txt\n",
		"sub/a.txt":        "a==1\n-r ../shared/s.txt\n",
		"sub/b.txt":        "b==2\n",
		"sub/c.txt":        "a<2\n-c ../shared/cc.txt\n",
		"shared/s.txt":     "s==3\n",
		"shared/cc.txt":    "s<4\n",
		"unused/other.txt": "nope==1\n",
	}},
	{name: "r inside a c file yields requirements", files: map[string]string{
		"req.txt": "-c c.txt\n",
		"c.txt":   "foo<2\n-r r.txt\n",
		"r.txt":   "bar==1\n",
	}},
	{name: "diamond include reads the file twice", files: map[string]string{
		"req.txt":    "-r a.txt\n-r b.txt\n",
		"a.txt":      "-r common.txt\n",
		"b.txt":      "-r common.txt\n",
		"common.txt": "c==1\n",
	}},
	{name: "short options glued", files: map[string]string{"req.txt": "-ra.txt\n-cc.txt\n", "a.txt": "a==1\n", "c.txt": "a<2\n"}},
	{name: "index options", files: map[string]string{"req.txt": "--extra-index-url https://a/simple\n-i https://b/simple\n--extra-index https://c/simple\n--pypi-url=https://d/simple --extra-index-url=https://e/simple\n"}},
	{name: "no-index clears and wins", files: map[string]string{"req.txt": "-i https://a/simple\n--no-index\n--extra-index-url https://b/simple\n-i https://c/simple\n"}},
	{name: "find links", files: map[string]string{"req.txt": "-f ./wheels\n--find-links https://example.com/links\n-f missing-dir\n", "wheels/.keep": ""}},
	{name: "binary sets", files: map[string]string{"req.txt": "--no-binary :all:\n--only-binary Foo_Bar,baz\n--no-binary baz\n--only-binary :none:\n--no-binary=:all:,:none:,lxml\n"}},
	{name: "binary options on requirement lines apply too", files: map[string]string{"req.txt": "foo==1 --no-binary foo\n-r other.txt --only-binary bar\n", "other.txt": "bar==1\n"}},
	{name: "flags", files: map[string]string{"req.txt": "--pre\n--prefer-binary\n--require-hashes\n--trusted-host example.com --trusted-host=other.org:8080\n--use-feature=fast-deps\n--use-feature truststore\n"}},
	{name: "options on a requirement line are ignored", files: map[string]string{"req.txt": "foo==1 --pre --index-url https://x/simple\n"}},
	{name: "options on an include line are lost", files: map[string]string{"req.txt": "-r a.txt --pre\n", "a.txt": "a==1\n"}},
	{name: "hashes", files: map[string]string{"req.txt": "foo==1.0 --hash=sha256:aaaa --hash sha256:bbbb\nbar==2.0 \\\n    --hash=sha512:cccc \\\n    --hash=sha384:dddd\n--hash=sha256:eeee\n"}},
	{name: "hashes on editable are ignored", files: map[string]string{"req.txt": "-e ./pkg --hash=sha256:aaaa\n", "pkg/setup.py": ""}},
	{name: "quoted option values", minPip: [2]int{23, 1}, files: map[string]string{"req.txt": "foo==1 --global-option=\"--x y\" --config-settings='k=v w'\n--trusted-host \"a b\"\n"}},
	{name: "markers", files: map[string]string{"req.txt": "foo==1.0 ; python_version < \"3.12\"\nbar;sys_platform=='linux'\nbaz>=1 ; \nqux[Extra_One,two]>=2,<3; os_name == \"posix\" and python_version >= \"3.8\"\n"}},
	{name: "url requirements", files: map[string]string{"req.txt": "https://example.com/foo_bar-1.0-py3-none-any.whl\nhttps://example.com/pkg.tar.gz#egg=pkg\nhttps://example.com/pkg2.tar.gz#egg=pkg2==1.0&subdirectory=sub\nhttps://example.com/unnamed-1.0.tar.gz\nhttps://example.com/p.tar.gz#sha256=abcd\nhttps://example.com/m.zip#egg=m ; python_version > \"3\"\n"}},
	{name: "vcs requirements", files: map[string]string{"req.txt": "git+https://github.com/org/repo.git@v1.2#egg=name&subdirectory=sub\nxblock[django] @ git+https://github.com/openedx/xblock.git@add-required-attrs\ngit+https://github.com/org/r2.git@abc123#egg=r2==0.1.0+edx.2\ngit+https://github.com/org/nofrag.git@branch/with/slashes\ngit+ssh://git@github.com/org/r3.git@v1#egg=r3\nhg+https://hg.example.com/r4@tip#egg=r4\nname @ git+https://github.com/org/r5.git@v2 ; python_version < \"3.12\"\n"}},
	{name: "editables", files: map[string]string{"req.txt": "-e git+https://github.com/org/repo.git@1.0#egg=repo\n--editable=git+https://github.com/org/r2.git#egg=r2[extra]\n-e ./pkg\n-e pkg[Dev,test]\n-e file:./pkg#egg=pkgname\n-e git://github.com/org/r3#egg=r3\n-e .[dev]\n", "pkg/pyproject.toml": ""}},
	{name: "local paths", files: map[string]string{
		"req.txt":      "./pkg\n./pkg[Dev]\n../outside/foo_bar-2.0-py3-none-any.whl\nsub/archive-1.0.tar.gz\n./missing-1.0.tar.gz\nfile:../outside/foo_bar-2.0-py3-none-any.whl\n",
		"pkg/setup.py": "",
		"../outside/foo_bar-2.0-py3-none-any.whl": "",
		"sub/archive-1.0.tar.gz":                  "",
	}},
	{name: "name at url with archive", files: map[string]string{"req.txt": "foo @ https://example.com/foo-1.0.tar.gz\nbar@https://example.com/bar-1.0-py3-none-any.whl\n"}},
	{name: "double dash ends options", files: map[string]string{"req.txt": "--pre -- --no-index\n"}},
	{name: "extras and names", files: map[string]string{"req.txt": "Foo.Bar_baz[Security,SOCKS]~=2.0\nzope.interface===1.0.0\nA\n"}},
	{name: "coding declaration latin-1", files: map[string]string{"req.txt": "# -*- coding: latin-1 -*-\nfoo==1 # caf\xe9\n"}},
	// Errors: both must fail.
	{name: "error unknown option", files: map[string]string{"req.txt": "--frobnicate\n"}},
	{name: "error ambiguous option", files: map[string]string{"req.txt": "--pr\n"}},
	{name: "error ambiguous include option", files: map[string]string{"req.txt": "--req a.txt\n", "a.txt": ""}},
	{name: "error flag with value", files: map[string]string{"req.txt": "--pre=yes\n"}},
	{name: "error missing value", files: map[string]string{"req.txt": "--index-url\n"}},
	{name: "error bad hash algorithm", files: map[string]string{"req.txt": "foo==1 --hash=md5:aaaa\n"}},
	{name: "error hash without colon", files: map[string]string{"req.txt": "foo==1 --hash=sha256\n"}},
	{name: "error unclosed quote", files: map[string]string{"req.txt": "foo==1 --global-option=\"x\n"}},
	{name: "error single equals", files: map[string]string{"req.txt": "foo=1.0\n"}},
	{name: "error hash inside a name is not a comment", files: map[string]string{"req.txt": "baz#not-a-comment==1\n"}},
	{name: "hash inside a version is not a comment", files: map[string]string{"req.txt": "foo==1.0#comment\n"},
		stricter: "packaging 21.3 reads \"1.0#comment\" as a legacy version; PEP 440 and resolver/pep508 do not"},
	{name: "url fragment without egg", files: map[string]string{"req.txt": "git+https://github.com/x/y.git@3.30#edx-enterprise==3.30\n"},
		stricter: "pip ignores a fragment it does not understand and installs an unnamed requirement; the fragment is a misspelt #egg="},
	{name: "error missing include", files: map[string]string{"req.txt": "-r nowhere.txt\n"}},
	{name: "error editable without egg", files: map[string]string{"req.txt": "-e git+https://github.com/org/repo.git@1.0#repo==1.0\n"}},
	{name: "error editable name", files: map[string]string{"req.txt": "-e requests\n"}},
	{name: "error not installable dir", files: map[string]string{"req.txt": "./empty\n", "empty/README": ""}},
	{name: "error invalid wheel name", files: map[string]string{"req.txt": "https://example.com/notawheel.whl\n"}},
	{name: "error bad marker", files: map[string]string{"req.txt": "foo==1 ; python_version <<< \"3\"\n"}},
	{name: "error use-feature choice", files: map[string]string{"req.txt": "--use-feature=warp-drive\n"}},
	{name: "error no-binary dash value", files: map[string]string{"req.txt": "--no-binary --pre\n"}},
	{name: "error config settings without equals", files: map[string]string{"req.txt": "foo==1 --config-settings=novalue\n"}},
	{name: "error nonexistent path", files: map[string]string{"req.txt": "./nothere\n"}},
}

func TestParseAgreesWithPipOnTrickyFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("runs pip")
	}
	base := t.TempDir()
	var cases []pipCase
	for i, c := range trickyCorpus {
		dir := filepath.Join(base, "cases", strings.ReplaceAll(c.name, " ", "-"))
		if i > 0 && c.name == trickyCorpus[i-1].name {
			t.Fatalf("duplicate case %q", c.name)
		}
		writeTree(t, dir, c.files)
		cases = append(cases, pipCase{File: filepath.Join(dir, "req.txt"), Cwd: dir, Env: c.env})
	}
	results := runPip(t, cases)
	python, _ := exec.LookPath("python3")
	for i, c := range cases {
		tc := trickyCorpus[i]
		if tc.minPip != [2]int{} {
			// The reference is the pip on the machine: a case of a later
			// pip's format (--config-settings came in 23.1) is compared
			// only with such a pip.
			if ok, err := piptest.AtLeast(python, tc.minPip[0], tc.minPip[1]); err != nil {
				t.Fatal(err)
			} else if !ok {
				t.Logf("%s: compared only with pip >= %d.%d", tc.name, tc.minPip[0], tc.minPip[1])
				continue
			}
		}
		wantErr := strings.HasPrefix(tc.name, "error ")
		if got := results[i].Error != ""; got != wantErr {
			t.Errorf("%s: pip error = %q, want an error: %v", tc.name, results[i].Error, wantErr)
		}
		if tc.stricter != "" {
			_, err := ParseFile(c.File, WithWorkDir(c.Cwd), WithEnv(c.Env))
			if err == nil {
				t.Errorf("%s: we accept it; want an error because %s", tc.name, tc.stricter)
			}
			t.Logf("%s: pip accepts, we reject (%s): %v", tc.name, tc.stricter, err)
			continue
		}
		comparePip(t, tc.name, c, results[i])
	}
}

// generatedLines are the pieces TestParseAgreesWithPipOnGeneratedFiles
// combines: requirement forms, option lines and includes.
var generatedLines = []string{
	"foo==1.0", "Bar_baz[X,y]>=2,<3", `qux ; python_version < "3.12"`, `m>1;os_name=="posix"`,
	"https://h/p-1.0.tar.gz#egg=p", "git+https://h/r.git@v1#egg=r&subdirectory=s",
	"git+https://h/r2.git@branch/x", "./pkg", "./pkg[dev]", "-e ./pkg", "-e git+https://h/e.git#egg=e",
	"name @ https://h/n-1.0.tar.gz", "https://h/w_x-1.0-py3-none-any.whl", "z==${VER}",
	"h==1 --hash=sha256:ab --hash sha512:cd", "--pre", "-i https://i/simple", "--extra-index-url https://e/${HOST}/",
	"--no-binary :all:", "--only-binary a,B_c", "--no-binary=:none:,d", "--trusted-host t", "--prefer-binary",
	"--no-index", "-f ./links", "--require-hashes", "-r a.txt", "-c c.txt", "--hash=sha256:ef",
}

func TestParseAgreesWithPipOnGeneratedFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("runs pip")
	}
	rng := rand.New(rand.NewPCG(508, 23))
	base := t.TempDir()
	env := map[string]string{"VER": "1.2", "HOST": "example.com"}
	decorate := func(line string) string {
		switch rng.IntN(8) {
		case 0:
			return line + " # trailing comment"
		case 1:
			return line + "\t#tab comment"
		case 2:
			// Continue the line at a space, as pip-compile does for hashes.
			if i := strings.LastIndexByte(line, ' '); i > 0 {
				return line[:i] + " \\\n   " + line[i:]
			}
		case 3:
			return "  " + line + "  "
		}
		return line
	}
	var cases []pipCase
	for i := range 120 {
		dir := filepath.Join(base, fmt.Sprint(i))
		var b strings.Builder
		for range 3 + rng.IntN(10) {
			switch rng.IntN(10) {
			case 0:
				b.WriteString("# a comment line\n")
			case 1:
				b.WriteString("\n")
			default:
				b.WriteString(decorate(generatedLines[rng.IntN(len(generatedLines))]))
				if rng.IntN(6) == 0 {
					b.WriteString("\r")
				}
				b.WriteString("\n")
			}
		}
		files := map[string]string{"req.txt": b.String(), "a.txt": "a==1\n", "c.txt": "a<2\nfoo<3\n", "pkg/setup.py": "", "links/x": ""}
		writeTree(t, dir, files)
		cases = append(cases, pipCase{File: filepath.Join(dir, "req.txt"), Cwd: dir, Env: env})
	}
	results := runPip(t, cases)
	ok := 0
	for i, c := range cases {
		if results[i].Error == "" {
			ok++
		}
		comparePip(t, fmt.Sprint("generated ", i), c, results[i])
	}
	if ok < len(cases)/2 {
		t.Errorf("pip accepted only %d of %d generated files; the generator makes too many errors to be useful", ok, len(cases))
	}
}
