package simple_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/piptest"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/resolver/simple"
)

// sampleFiles is one of every shape of entry the format carries.
func sampleFiles() []simple.File {
	up := time.Date(2024, 3, 1, 12, 30, 45, 123456000, time.UTC)
	return []simple.File{
		{Filename: "demo-1.0.tar.gz", URL: "../../files/demo-1.0.tar.gz", Size: -1},
		{Filename: "demo-1.0-py3-none-any.whl", URL: "../../files/demo-1.0-py3-none-any.whl",
			Hashes: map[string]string{"sha256": strings.Repeat("ab", 32)}, RequiresPython: ">=3.8,<4",
			CoreMetadata: true, MetadataHashes: map[string]string{"sha256": strings.Repeat("cd", 32)}, Size: 1234, UploadTime: up},
		{Filename: "demo-2.0+local.1-py3-none-any.whl", URL: "../../files/" + url.PathEscape("demo-2.0+local.1-py3-none-any.whl"),
			Hashes: map[string]string{"sha256": strings.Repeat("01", 32), "md5": strings.Repeat("ef", 16)},
			Yanked: true, YankedReason: `broken "build" & <worse> é`, CoreMetadata: true, Size: 0},
		{Filename: "demo-3.0-py3-none-any.whl", URL: "https://files.example/demo-3.0-py3-none-any.whl",
			Yanked: true, RequiresPython: "<3", Size: 99},
	}
}

func write(t *testing.T, form simple.Format, files []simple.File, versions []string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := simple.NewProjectWriter(&b, form, "demo", "1.1", slices.Values(versions))
	for i := range files {
		if err := w.File(&files[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestEveryWrittenPageParsesBackToWhatWasWritten writes each form and
// reads it back: what the form carries survives (HTML has no sizes, upload
// times or versions, and one hash per link).
func TestEveryWrittenPageParsesBackToWhatWasWritten(t *testing.T) {
	const pageURL = "https://index.example/simple/demo/"
	base, _ := url.Parse(pageURL)
	versions := []string{"1.0", "2.0+local.1", "3.0"}
	for _, tc := range []struct {
		form        simple.Format
		contentType string
	}{
		{simple.HTML, simple.MediaTypeHTML},
		{simple.HTML, "text/html; charset=utf-8"},
		{simple.JSON, simple.MediaTypeJSON},
	} {
		t.Run(tc.contentType, func(t *testing.T) {
			files := sampleFiles()
			body := write(t, tc.form, files, versions)
			p, err := simple.ParseProject(pageURL, tc.contentType, body)
			if err != nil {
				t.Fatalf("%v\n%s", err, body)
			}
			if len(p.Files) != len(files) {
				t.Fatalf("read %d files, wrote %d:\n%s", len(p.Files), len(files), body)
			}
			for i, want := range files {
				u, _ := base.Parse(want.URL)
				want.URL = u.String()
				if tc.form == simple.HTML {
					want.Size, want.UploadTime = -1, time.Time{}
					if len(want.Hashes) > 1 {
						want.Hashes = map[string]string{"sha256": want.Hashes["sha256"]}
					}
				}
				got := p.Files[i]
				if got.Filename != want.Filename || got.URL != want.URL || !maps.Equal(got.Hashes, want.Hashes) ||
					got.RequiresPython != want.RequiresPython || got.Yanked != want.Yanked || got.YankedReason != want.YankedReason ||
					got.CoreMetadata != want.CoreMetadata || !maps.Equal(got.MetadataHashes, want.MetadataHashes) ||
					got.Size != want.Size || !got.UploadTime.Equal(want.UploadTime) {
					t.Errorf("file %d:\n got %+v\nwant %+v", i, got, want)
				}
			}
			if tc.form == simple.JSON && (p.Name != "demo" || p.APIVersion != "1.1" || !slices.Equal(p.Versions, versions)) {
				t.Errorf("header: name %q, api-version %q, versions %q", p.Name, p.APIVersion, p.Versions)
			}
		})
	}
}

// TestProjectListParsesBackToItsNames writes the root page in both forms.
func TestProjectListParsesBackToItsNames(t *testing.T) {
	names := []string{"a-b", "demo", "zope-interface"}
	for _, tc := range []struct {
		form simple.Format
		ct   string
	}{{simple.HTML, "text/html"}, {simple.JSON, simple.MediaTypeJSON}} {
		var b bytes.Buffer
		if err := simple.WriteProjectList(&b, tc.form, "1.0", names); err != nil {
			t.Fatal(err)
		}
		got, err := simple.ParseProjectList(tc.ct, b.Bytes())
		if err != nil || !slices.Equal(got, names) {
			t.Errorf("%s: got %q, %v; want %q\n%s", tc.ct, got, err, names, b.Bytes())
		}
	}
}

// TestHTMLReaderSkipsWhatIsNotALink reads anchors as pip's html.parser
// does: not in comments or scripts, attributes in any quoting and case,
// character references decoded, a <base> honoured, tags split across reads.
func TestHTMLReaderSkipsWhatIsNotALink(t *testing.T) {
	page := `<!DOCTYPE html><html><head><base href="https://cdn.example/x/">
<script>var s = "<a href='evil-1.0.tar.gz'>";</script><style>a{}</style></head><body>
<!-- <a href="commented-1.0.tar.gz">no</a> -->
<A HREF=one-1.0.tar.gz#SHA256=AB data-requires-python="&gt;=3.8">one-1.0.tar.gz</A>
<a data-yanked='' href='two-1.0.tar.gz' data-dist-info-metadata="true">two</a>
<a href="three-1.0.tar.gz" data-core-metadata="false">three</a>
</body></html>`
	for _, chunk := range []int{1, 7, len(page)} {
		var names []string
		var got []simple.File
		base, _ := url.Parse("https://index.example/simple/one/")
		_, err := simple.ScanProject(&chunkReader{s: page, n: chunk}, "text/html", base, func(f *simple.File, err error) error {
			if err != nil {
				return err
			}
			names = append(names, f.Filename)
			got = append(got, *f)
			return nil
		}, nil)
		if err != nil {
			t.Fatalf("chunks of %d: %v", chunk, err)
		}
		if want := []string{"one-1.0.tar.gz", "two-1.0.tar.gz", "three-1.0.tar.gz"}; !slices.Equal(names, want) {
			t.Fatalf("chunks of %d: read %q, want %q", chunk, names, want)
		}
		if got[0].URL != "https://cdn.example/x/one-1.0.tar.gz" || got[0].SHA256() != "ab" || got[0].RequiresPython != ">=3.8" {
			t.Errorf("chunks of %d: first file %+v", chunk, got[0])
		}
		if !got[1].Yanked || !got[1].CoreMetadata || got[2].CoreMetadata {
			t.Errorf("chunks of %d: yanked/metadata wrong: %+v %+v", chunk, got[1], got[2])
		}
	}
}

type chunkReader struct {
	s string
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.n)], r.s)
	r.s = r.s[n:]
	return n, nil
}

// TestPipReadsEveryPageTheCodecWrites serves pages written by the codec,
// in each form, to the real pip: it must skip the yanked release and the
// one whose Requires-Python excludes it, fetch the advertised metadata,
// and download the right file with its hash checked.
func TestPipReadsEveryPageTheCodecWrites(t *testing.T) {
	p := piptest.New(t, "python3")
	proj := &pypitest.Project{Name: "Demo.Pkg"}
	rels := []pypitest.Release{{Version: "1.0"}, {Version: "2.0"}, {Version: "3.0"}}
	files := map[string]*pypitest.File{}
	var listed []simple.File
	for i := range rels {
		f, err := pypitest.BuildWheel(proj, &rels[i], pypitest.Wheel{Tags: "py3-none-any"})
		if err != nil {
			t.Fatal(err)
		}
		files[f.Filename] = f
		sf := simple.File{Filename: f.Filename, URL: "../../files/" + url.PathEscape(f.Filename),
			Hashes: map[string]string{"sha256": f.SHA256}, Size: int64(f.Size), UploadTime: f.UploadTime,
			CoreMetadata: true, MetadataHashes: map[string]string{"sha256": f.MetadataSHA256}}
		switch rels[i].Version {
		case "2.0":
			sf.Yanked, sf.YankedReason = true, `"broken" <release> & more`
		case "3.0":
			sf.RequiresPython = "<3"
		}
		listed = append(listed, sf)
	}
	// Debian 12's pip (23.0.1) is the one images run; it reads PEP 714's
	// attribute differently from later pips.
	pips := [][]string{{"-m", "pip"}}
	if wheel := piptest.DebianPipWheel(); wheel != "" {
		pips = append(pips, []string{filepath.Join(wheel, "pip")})
	} else {
		testenv.Need(t, errors.New("no /usr/share/python-wheels/pip-*.whl: apt-get install python3-pip-whl"))
	}
	for i, pipArgs := range pips {
		for _, form := range []simple.Format{simple.HTML, simple.JSON} {
			checkPipReads(t, p, pipArgs, form, listed, files, filepath.Join(p.Dir, fmt.Sprint("dl", i, form)))
		}
	}
}

// checkPipReads serves a codec-written page of listed to pip, which must
// download 1.0 (2.0 is yanked, 3.0 needs Python <3) with its hash checked.
func checkPipReads(t *testing.T, p *piptest.Pip, pipArgs []string, form simple.Format, listed []simple.File, files map[string]*pypitest.File, dest string) {
	t.Helper()
	ct := map[simple.Format]string{simple.HTML: simple.MediaTypeHTML, simple.JSON: simple.MediaTypeJSON}[form]
	page := write(t, form, listed, []string{"1.0", "2.0", "3.0"})
	var root bytes.Buffer
	if err := simple.WriteProjectList(&root, form, "1.1", []string{"demo-pkg"}); err != nil {
		t.Fatal(err)
	}
	var metadataFetched bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/simple/":
			w.Header().Set("Content-Type", ct)
			w.Write(root.Bytes())
		case r.URL.Path == "/simple/demo-pkg/":
			w.Header().Set("Content-Type", ct)
			w.Write(page)
		case strings.HasPrefix(r.URL.Path, "/files/"):
			name := strings.TrimPrefix(r.URL.Path, "/files/")
			if base, ok := strings.CutSuffix(name, ".metadata"); ok && files[base] != nil {
				metadataFetched = true
				w.Write(files[base].Metadata)
			} else if f := files[name]; f != nil {
				w.Write(f.Data)
			} else {
				http.NotFound(w, r)
			}
		default:
			http.NotFound(w, r)
		}
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	args := append(append([]string(nil), pipArgs...), "download", "--no-deps", "--only-binary", ":all:", "--timeout", "10",
		"--index-url", srv.URL+"/simple/", "-d", dest, "demo.pkg")
	cmd := exec.CommandContext(ctx, p.Python, args...)
	cmd.Env = p.Env
	out, err := cmd.CombinedOutput()
	cancel()
	srv.Close()
	if err != nil {
		t.Fatalf("%s: pip %s download: %v\n%s\npage:\n%s", ct, pipArgs, err, out, page)
	}
	got, _ := filepath.Glob(filepath.Join(dest, "*"))
	want := filepath.Join(dest, pypitest.WheelFilename("Demo.Pkg", "1.0", "py3-none-any"))
	if len(got) != 1 || got[0] != want {
		t.Errorf("%s: pip downloaded %q, want %s (2.0 is yanked, 3.0 needs Python <3)\n%s", ct, got, want, out)
	}
	if data, err := os.ReadFile(want); err != nil || !bytes.Equal(data, files[filepath.Base(want)].Data) {
		t.Errorf("%s: downloaded file differs: %v", ct, err)
	}
	if !metadataFetched {
		t.Logf("%s: pip %s did not ask for the advertised metadata", ct, pipArgs)
	}
}
