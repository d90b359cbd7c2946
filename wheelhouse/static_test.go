package wheelhouse_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/piptest"

	"golang.org/x/net/html"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/wheelhouse"
)

type anchor struct {
	href, text string
	attrs      map[string]string
}

// anchors parses a page as a browser (and pip's parser) would.
func anchors(t *testing.T, path string) []anchor {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := html.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	var out []anchor
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "a" {
			a := anchor{attrs: map[string]string{}}
			for _, at := range n.Attr {
				a.attrs[at.Key] = at.Val
			}
			a.href = a.attrs["href"]
			if n.FirstChild != nil {
				a.text = n.FirstChild.Data
			}
			out = append(out, a)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

func TestStaticIndexLinksEveryFileRelativelyWithHashesAndMetadata(t *testing.T) {
	files := append(build(t, "Demo.Pkg", "1.0", ">=3.8,<4", true, "py3-none-any"), build(t, "other", "2.0", "", false, "py2.py3-none-any")...)
	s := storeWith(t, files...)
	if err := wheelhouse.WriteStatic(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(s.Dir(), wheelhouse.SimpleDir)
	as := anchors(t, filepath.Join(root, "index.html"))
	if len(as) != 2 || as[0].href != "demo-pkg/" || as[1].href != "other/" {
		t.Errorf("root page anchors %+v", as)
	}

	page := filepath.Join(root, "demo-pkg", "index.html")
	base, _ := url.Parse("file://" + page)
	as = anchors(t, page)
	if len(as) != 2 {
		t.Fatalf("demo-pkg page anchors %+v", as)
	}
	for _, a := range as {
		var f *pypitest.File
		for _, x := range files {
			if x.Filename == a.text {
				f = x
			}
		}
		if f == nil {
			t.Fatalf("anchor for unknown file %q", a.text)
		}
		u, err := base.Parse(a.href)
		if err != nil {
			t.Fatal(err)
		}
		if u.Path != s.Path(f.Filename) || u.Fragment != "sha256="+f.SHA256 {
			t.Errorf("%s: href %q resolves to %s#%s", f.Filename, a.href, u.Path, u.Fragment)
		}
		if a.attrs["data-requires-python"] != ">=3.8,<4" {
			t.Errorf("%s: data-requires-python %q", f.Filename, a.attrs["data-requires-python"])
		}
		meta, hasMeta := a.attrs["data-core-metadata"]
		if _, old := a.attrs["data-dist-info-metadata"]; old {
			t.Errorf("%s: the pre-PEP 714 data-dist-info-metadata breaks pip 22.3 to 23.0", f.Filename)
		}
		if f.IsSdist == hasMeta || (hasMeta && meta != "sha256="+f.MetadataSHA256) {
			t.Errorf("%s: metadata attributes %v", f.Filename, a.attrs)
		}
	}
	if raw, _ := os.ReadFile(page); !strings.Contains(string(raw), `data-requires-python="&gt;=3.8,&lt;4"`) {
		t.Errorf("requires-python is not escaped in %s", raw)
	}

	var p struct {
		Meta     map[string]string `json:"meta"`
		Name     string            `json:"name"`
		Versions []string          `json:"versions"`
		Files    []struct {
			Filename       string            `json:"filename"`
			URL            string            `json:"url"`
			Hashes         map[string]string `json:"hashes"`
			RequiresPython string            `json:"requires-python"`
			CoreMetadata   any               `json:"core-metadata"`
			Size           int64             `json:"size"`
			UploadTime     string            `json:"upload-time"`
		} `json:"files"`
	}
	b, err := os.ReadFile(filepath.Join(root, "demo-pkg", "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.Meta["api-version"] != "1.1" || p.Name != "demo-pkg" || len(p.Versions) != 1 || len(p.Files) != 2 {
		t.Fatalf("JSON page %s", b)
	}
	for _, jf := range p.Files {
		u, _ := base.Parse(jf.URL)
		if u.Path != s.Path(jf.Filename) || len(jf.Hashes["sha256"]) != 64 || jf.RequiresPython != ">=3.8,<4" || jf.Size == 0 ||
			jf.UploadTime != "2024-05-01T12:00:00.000000Z" || (jf.CoreMetadata != nil) != strings.HasSuffix(jf.Filename, ".whl") {
			t.Errorf("JSON file %+v", jf)
		}
	}
	if strings.Contains(string(b), "dist-info-metadata") {
		t.Errorf("the JSON page carries the old key that crashes pip 22.3 to 23.1")
	}
}

func TestStaticIndexIsAFunctionOfTheManifestAndDropsProjectsThatLeft(t *testing.T) {
	files := append(build(t, "a", "1.0", "", true, "py3-none-any"), build(t, "b", "2.0", ">=3", false, "py3-none-any")...)
	s1 := storeWith(t, files...)
	s2 := storeWith(t, files[2], files[1], files[0]) // another order
	for _, s := range []*wheelhouse.Store{s1, s2} {
		if err := wheelhouse.WriteStatic(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"index.html", "index.json", "a/index.html", "a/index.json", "b/index.html", "b/index.json"} {
		x, err1 := os.ReadFile(filepath.Join(s1.Dir(), wheelhouse.SimpleDir, p))
		y, err2 := os.ReadFile(filepath.Join(s2.Dir(), wheelhouse.SimpleDir, p))
		if err1 != nil || err2 != nil || string(x) != string(y) {
			t.Errorf("%s differs between two stores with the same manifest (%v, %v)", p, err1, err2)
		}
	}
	// Rewriting an unchanged index touches nothing.
	page := filepath.Join(s1.Dir(), wheelhouse.SimpleDir, "a", "index.html")
	old := time.Unix(1_000_000_000, 0)
	if err := os.Chtimes(page, old, old); err != nil {
		t.Fatal(err)
	}
	if err := wheelhouse.WriteStatic(context.Background(), s1); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(page); err != nil || !st.ModTime().Equal(old) {
		t.Errorf("an unchanged page was rewritten")
	}

	if err := s1.Remove(files[2].Filename); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(s1.Dir(), wheelhouse.SimpleDir, ".index.html.123.tmp"), []byte("x"))
	if err := wheelhouse.WriteStatic(context.Background(), s1); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(s1.Dir(), wheelhouse.SimpleDir))
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "a index.html index.json" {
		t.Errorf("simple/ holds %v after b left", names)
	}
}

// TestPipInstallsFromTheStaticIndexWithNoServer runs the real pip
// against file:// URLs: the relative links, hashes and PEP 658 metadata.
// Debian 12's pip 23.0.1 is one of the pips: it rejects a file whose
// metadata Name ("App") is spelled unlike the requirement ("app") when the
// page carries the pre-PEP 714 metadata attribute.
func TestPipInstallsFromTheStaticIndexWithNoServer(t *testing.T) {
	python := piptest.New(t, "python3").Python
	p := &pypitest.Project{Name: "App"}
	r := &pypitest.Release{Version: "1.0", Requires: []string{"lib>=2"}, RequiresPython: ">=3.8"}
	app, err := pypitest.BuildWheel(p, r, pypitest.Wheel{Tags: "py3-none-any"})
	if err != nil {
		t.Fatal(err)
	}
	s := storeWith(t, append(build(t, "lib", "2.0", ">=3", true, "py3-none-any"), app)...)
	if err := wheelhouse.WriteStatic(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	for _, pip := range []struct {
		name   string
		debian bool // pip from Debian's wheel, not the interpreter's own
	}{
		{"interpreter's pip", false},
		{"Debian 12's pip", true},
	} {
		t.Run(pip.name, func(t *testing.T) {
			args := []string{"-m", "pip"}
			if pip.debian {
				wheel := piptest.DebianPipWheel()
				if wheel == "" {
					testenv.Need(t, errors.New("no /usr/share/python-wheels/pip-*.whl: apt-get install python3-pip-whl"))
				}
				args = []string{filepath.Join(wheel, "pip")}
			}
			home := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			args = append(args, "install", "--no-compile", "--target", filepath.Join(home, "site"),
				"--index-url", "file://"+filepath.Join(s.Dir(), wheelhouse.SimpleDir)+"/", "--only-binary", ":all:", "app")
			cmd := exec.CommandContext(ctx, python, args...)
			cmd.Env = piptest.Env(home)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("pip install: %v\n%s", err, out)
			}
			for _, d := range []string{"app-1.0.dist-info", "lib-2.0.dist-info"} {
				if _, err := os.Stat(filepath.Join(home, "site", d)); err != nil {
					t.Errorf("pip did not install %s:\n%s", d, out)
				}
			}
		})
	}
}

func TestStaticPagesAndManifestInMemoryMatchWhatIsWrittenToDisk(t *testing.T) {
	var files []*pypitest.File
	files = append(files, build(t, "Django", "4.2.16", ">=3.8", true, "py3-none-any")...)
	files = append(files, build(t, "lxml", "5.3.0", ">=3.6", false, "cp311-cp311-manylinux_2_17_x86_64")...)
	s := storeWith(t, files...)
	if err := wheelhouse.WriteStatic(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	pages, err := wheelhouse.StaticPages(s.Entries())
	if err != nil {
		t.Fatal(err)
	}
	var onDisk []string
	err = filepath.WalkDir(filepath.Join(s.Dir(), wheelhouse.SimpleDir), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(s.Dir(), p)
			onDisk = append(onDisk, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != len(onDisk) {
		t.Fatalf("StaticPages gives %d pages, WriteStatic wrote %d: %v", len(pages), len(onDisk), onDisk)
	}
	for i, p := range pages {
		if i > 0 && pages[i-1].Path >= p.Path {
			t.Errorf("pages not sorted: %s before %s", pages[i-1].Path, p.Path)
		}
		want, err := os.ReadFile(filepath.Join(s.Dir(), filepath.FromSlash(p.Path)))
		if err != nil {
			t.Fatalf("StaticPages gives %s, which WriteStatic did not write: %v", p.Path, err)
		}
		if string(want) != string(p.Data) {
			t.Errorf("%s differs from the page on disk", p.Path)
		}
	}
	m, err := wheelhouse.MarshalManifest(s.Entries())
	if err != nil {
		t.Fatal(err)
	}
	if disk, _ := os.ReadFile(filepath.Join(s.Dir(), wheelhouse.ManifestName)); string(disk) != string(m) {
		t.Errorf("MarshalManifest differs from the manifest Commit wrote")
	}
}

// TestWriteStaticStopsWhenItsContextEnds: a cancelled write starts no
// project page and never writes the list, which would link to pages that
// are not there.
func TestWriteStaticStopsWhenItsContextEnds(t *testing.T) {
	var files []*pypitest.File
	for i := range 20 {
		files = append(files, build(t, fmt.Sprintf("p%d", i), "1.0", "", false, "py3-none-any")...)
	}
	s := storeWith(t, files...)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := wheelhouse.WriteStatic(ctx, s); !errors.Is(err, context.Canceled) {
		t.Fatalf("WriteStatic with a cancelled context: %v, want context.Canceled", err)
	}
	root := filepath.Join(s.Dir(), wheelhouse.SimpleDir)
	if _, err := os.Stat(filepath.Join(root, "index.html")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the project list was written: %v", err)
	}
	if pages, _ := filepath.Glob(filepath.Join(root, "*", "index.html")); len(pages) != 0 {
		t.Errorf("%d project pages were written after the context ended", len(pages))
	}
}
