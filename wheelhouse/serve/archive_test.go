package serve

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/resolver/distname"
)

// TestFindInTarReadsTheTarsRealToolsWrite finds an sdist's PKG-INFO in
// archives written by Python's tarfile (as setuptools and build make
// sdists: PAX by default), GNU tar, and Go's archive/tar, in each format
// they write, with a long-named member before it and a PKG-INFO whose own
// path is over 100 bytes.
func TestFindInTarReadsTheTarsRealToolsWrite(t *testing.T) {
	testenv.Slow(t, "runs python3's tarfile and GNU tar")
	python := testenv.Tool(t, "python3")
	gnuTar := testenv.Tool(t, "tar")
	// Members over 100 bytes, each part short enough for ustar's prefix.
	long := strings.Repeat("d", 70)
	const pkgInfo = "Metadata-Version: 2.1\nName: acme-tools\nVersion: 1.0\n"
	for _, top := range []string{"acme_tools-1.0", "acme_tools-1.0-" + long + long} {
		src := t.TempDir()
		for name, data := range map[string]string{
			top + "/" + long + "/" + long + ".py": "x = 1\n",
			top + "/PKG-INFO":                     pkgInfo,
			top + "/setup.py":                     "",
		} {
			p := filepath.Join(src, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		archives := map[string][]byte{}
		for _, format := range []string{"PAX_FORMAT", "GNU_FORMAT"} {
			out := filepath.Join(t.TempDir(), "sdist.tar")
			// The long member first, so that it is walked past.
			script := `import sys, tarfile, os
src, out, fmt, top = sys.argv[1:5]
with tarfile.open(out, "w", format=getattr(tarfile, fmt)) as tf:
    for root, dirs, files in sorted(os.walk(os.path.join(src, top)), key=lambda w: -len(w[0])):
        for f in sorted(files):
            p = os.path.join(root, f)
            tf.add(p, arcname=os.path.relpath(p, src))
`
			if b, err := exec.Command(python, "-c", script, src, out, format, top).CombinedOutput(); err != nil {
				t.Fatalf("python tarfile: %v\n%s", err, b)
			}
			archives["python "+format] = readFile(t, out)
		}
		for _, format := range []string{"gnu", "posix", "ustar"} {
			if format == "ustar" && len(top) > 100 {
				continue // ustar cannot hold the name
			}
			out := filepath.Join(t.TempDir(), "sdist.tar")
			if b, err := exec.Command(gnuTar, "--format="+format, "-cf", out, "-C", src, top).CombinedOutput(); err != nil {
				t.Fatalf("tar --format=%s: %v\n%s", format, err, b)
			}
			archives["GNU tar "+format] = readFile(t, out)
		}
		for _, format := range []tar.Format{tar.FormatPAX, tar.FormatGNU} {
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			for _, name := range []string{top + "/" + long + "/" + long + ".py", top + "/PKG-INFO"} {
				data := readFile(t, filepath.Join(src, name))
				if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg, Format: format}); err != nil {
					t.Fatal(err)
				}
				tw.Write(data)
			}
			tw.Close()
			archives["Go "+format.String()] = buf.Bytes()
		}
		for name, data := range archives {
			got, err := findInTar(bytes.NewReader(data), isPkgInfo, maxMetadataSize, distname.CheckMemberPath)
			if err != nil || string(got) != pkgInfo {
				t.Errorf("%s (top %d bytes): %q, %v", name, len(top), got, err)
			}
			// gzipped, through the upload's own path
			var gz bytes.Buffer
			zw := gzip.NewWriter(&gz)
			zw.Write(data)
			zw.Close()
			p := filepath.Join(t.TempDir(), "acme_tools-1.0.tar.gz")
			if err := os.WriteFile(p, gz.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			if got, err := inspectArchive(p, "acme_tools-1.0.tar.gz", int64(gz.Len())*maxUnpackedFactor); err != nil || string(got) != pkgInfo {
				t.Errorf("%s gzipped: %q, %v", name, got, err)
			}
		}
	}
}

func TestFindInTarRefusesBrokenArchives(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "a-1.0/PKG-INFO", Mode: 0o644, Size: 5, Typeflag: tar.TypeReg})
	tw.Write([]byte("Name:"))
	tw.Close()
	good := buf.Bytes()
	corrupt := slices.Clone(good)
	corrupt[10] ^= 1 // a byte of the name: the checksum no longer matches
	for name, data := range map[string][]byte{
		"checksum":  corrupt,
		"truncated": good[:300],
		"empty":     nil,
	} {
		if _, err := findInTar(bytes.NewReader(data), isPkgInfo, maxMetadataSize, distname.CheckMemberPath); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := findInTar(bytes.NewReader(good), isPkgInfo, 4, distname.CheckMemberPath); err == nil {
		t.Errorf("a member over the limit was read")
	}
	// Every member is walked, past PKG-INFO: an archive that runs past
	// its budget there is refused, not read as one that ends.
	if _, err := findInTar(&capReader{r: bytes.NewReader(good), n: 1024, over: errTooLargeUnpacked}, isPkgInfo, maxMetadataSize, distname.CheckMemberPath); !errors.Is(err, errTooLargeUnpacked) {
		t.Errorf("an archive past its budget after PKG-INFO: %v, want %v", err, errTooLargeUnpacked)
	}
	if _, err := findInTar(&capReader{r: bytes.NewReader(good), n: int64(len(good)), over: errTooLargeUnpacked}, isPkgInfo, maxMetadataSize, distname.CheckMemberPath); err != nil {
		t.Errorf("an archive of exactly its budget: %v", err)
	}
}

// TestParseRecordReadsWhatPythonsCsvWrites parses RECORD rows written by
// Python's csv module (as pip and wheel write RECORD), with paths that
// need quoting.
func TestParseRecordReadsWhatPythonsCsvWrites(t *testing.T) {
	testenv.Slow(t, "runs python3's csv")
	python := testenv.Tool(t, "python3")
	rows := [][]string{
		{"pkg/__init__.py", "sha256=abc", "12"},
		{"pkg/a,b.py", "sha256=def", "3"},
		{`pkg/say "hi".py`, "sha256=ghi", "4"},
		{"pkg-1.0.dist-info/RECORD", "", ""},
	}
	script := `import csv, sys, json
rows = json.load(sys.stdin)
w = csv.writer(sys.stdout, delimiter=",", quotechar='"', lineterminator="\n")
w.writerows(rows)
`
	cmd := exec.Command(python, "-c", script)
	cmd.Stdin = strings.NewReader(`[["pkg/__init__.py","sha256=abc","12"],["pkg/a,b.py","sha256=def","3"],["pkg/say \"hi\".py","sha256=ghi","4"],["pkg-1.0.dist-info/RECORD","",""]]`)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{string(out), strings.ReplaceAll(string(out), "\n", "\r\n")} {
		got, err := parseRecord([]byte(text))
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if len(got) != len(rows) {
			t.Fatalf("%q: %d rows, want %d", text, len(got), len(rows))
		}
		for i := range rows {
			if !slices.Equal(got[i], rows[i]) {
				t.Errorf("row %d: %q, want %q", i, got[i], rows[i])
			}
		}
	}
	for _, bad := range []string{"\"unterminated,1,2\n", "a\"b,1,2\n", "\"a\"b,1,2\n"} {
		if _, err := parseRecord([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAPageIsReadToItsCapAndItsConnectionsErrorsAreTheUpstreams reads a
// page as the upstream client does: a page of exactly the cap is read
// whole, one byte more fails with errTooLarge, and a connection that
// breaks gives a readError (the upstream's fault), not a page that ends.
func TestAPageIsReadToItsCapAndItsConnectionsErrorsAreTheUpstreams(t *testing.T) {
	page := []byte("<html>" + strings.Repeat("x", 100) + "</html>")
	broken := errors.New("connection reset by peer")
	tests := []struct {
		name    string
		r       io.Reader
		want    string // what is read, when it is read whole
		wantErr error
		readErr bool
	}{
		{"exactly the cap", bytes.NewReader(page), string(page), nil, false},
		{"one byte past the cap", io.MultiReader(bytes.NewReader(page), strings.NewReader("y")), "", errTooLarge, false},
		{"a broken connection", io.MultiReader(bytes.NewReader(page[:10]), iotest.ErrReader(broken)), "", broken, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := io.ReadAll(&capReader{r: connReader{tt.r}, n: int64(len(page)), over: errTooLarge})
			var re *readError
			if !errors.Is(err, tt.wantErr) || errors.As(err, &re) != tt.readErr {
				t.Fatalf("err = %v (a readError: %v), want %v (a readError: %v)", err, errors.As(err, &re), tt.wantErr, tt.readErr)
			}
			if tt.wantErr == nil && string(got) != tt.want {
				t.Errorf("read %d bytes, want the page's %d", len(got), len(tt.want))
			}
		})
	}
}
