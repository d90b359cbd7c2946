package serve

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/internal/uploadtest"
)

// TestUploadsUnderFileNamesThatAreNotPlainAreRefused: a file name is
// shown on pages and written to disk, so an upload whose name holds a
// look-alike letter, a bidi override, markup or a space is refused, even
// when its metadata agrees with it, and nothing is stored.
func TestUploadsUnderFileNamesThatAreNotPlainAreRefused(t *testing.T) {
	dir, _, base := uploadServer(t)
	w := projectWheel(t, "acme-tools", "1.0", 0)
	renamed := func(name string) *pypitest.File { c := *w; c.Filename = name; return &c }
	sdist := func(version string) *pypitest.File {
		p := &pypitest.Project{Name: "acme-tools", Releases: []pypitest.Release{release(version)}}
		f, err := pypitest.BuildSdist(p, &p.Releases[0])
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	for _, c := range []struct {
		name string
		file *pypitest.File
	}{
		{"a Cyrillic letter in a tag", renamed("acme_tools-1.0-py3-none-an\u04af.whl")},
		{"a right-to-left override", renamed("acme_tools-1.0-py3-none-any\u202e.whl")},
		{"markup in a tag", renamed("acme_tools-1.0-py3-none-<b>any</b>.whl")},
		{"markup in an sdist's version", sdist("1.0<script>")},
		{"a space in an sdist's version", sdist("1.0 beta")},
		{"a zero-width space in an sdist's version", sdist("1.0\u200b")},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body, err := postUpload(t, base, c.file, nil, "alice", "pw")
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("uploading %q: %d (%s), want 400", c.file.Filename, resp.StatusCode, body)
			}
			if onDisk, listed := storedFiles(t, dir); len(onDisk) != 0 || len(listed) != 0 {
				t.Errorf("a refused upload left files %q, entries %q", onDisk, listed)
			}
		})
	}
	// A plain name of the same wheel is taken.
	mustUpload(t, base, w, "alice", "pw")
}

// withListedMembers returns a copy of a wheel with members added (name →
// content), each listed in its RECORD with its right hash, and its
// METADATA passed through editMeta when not nil: a wheel whose RECORD
// holds together, so that only what was added can be refused.
func withListedMembers(t *testing.T, w *pypitest.File, add map[string]string, editMeta func([]byte) []byte) *pypitest.File {
	t.Helper()
	return rewritten(t, w, pypitest.WheelEdit{Add: add, Member: func(name string, b []byte) []byte {
		if editMeta != nil && strings.HasSuffix(name, ".dist-info/METADATA") {
			return editMeta(b)
		}
		return b
	}})
}

// sdistOf builds an sdist of project demo 1.0 holding members (name,
// content; in order), as a .tar.gz or, with zipped, a .zip.
func sdistOf(t *testing.T, zipped bool, members ...[2]string) *pypitest.File {
	t.Helper()
	var out bytes.Buffer
	name := "demo-1.0.tar.gz"
	if zipped {
		name = "demo-1.0.zip"
		zw := zip.NewWriter(&out)
		for _, m := range members {
			fw, err := zw.Create(m[0])
			if err != nil {
				t.Fatal(err)
			}
			fw.Write([]byte(m[1]))
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	} else {
		gz := gzip.NewWriter(&out)
		tw := tar.NewWriter(gz)
		for _, m := range members {
			if err := tw.WriteHeader(&tar.Header{Name: m[0], Mode: 0o644, Size: int64(len(m[1])), Typeflag: tar.TypeReg}); err != nil {
				t.Fatal(err)
			}
			tw.Write([]byte(m[1]))
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := gz.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return &pypitest.File{Filename: name, Project: "demo", Version: "1.0", Data: out.Bytes(), SHA256: sha256Of(out.Bytes()), IsSdist: true}
}

// TestUploadsAnInstallerWouldRefuseAreRefusedNamingWhy: a wheel or an
// sdist with a member an installer would write outside its folder, a
// wheel with a second .dist-info folder, and core metadata with a header
// of one value given twice (pip reads the first, a reader that keeps the
// last another project) are refused with 400 naming the member or the
// header, and nothing is stored; the same archives without them are
// taken. Real zip and tar.gz archives, sent as twine sends them, and once
// by the real twine.
func TestUploadsAnInstallerWouldRefuseAreRefusedNamingWhy(t *testing.T) {
	w := projectWheel(t, "acme-tools", "1.0", 0)
	member := func(name string) *pypitest.File {
		return withListedMembers(t, w, map[string]string{name: "import os\n"}, nil)
	}
	twice := func(header, first string) *pypitest.File {
		return withListedMembers(t, w, nil, func(b []byte) []byte {
			i := bytes.Index(append([]byte("\n"), b...), []byte("\n"+header+": "))
			if i < 0 {
				t.Fatalf("no %s header in %s", header, b)
			}
			return slices.Concat(b[:i], []byte(header+": "+first+"\n"), b[i:])
		})
	}
	const pkgInfo = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n\n"
	for _, c := range []struct {
		name string
		file *pypitest.File
		want string // in the answer
	}{
		{"a wheel's member up two folders", member("../../evil.py"), `"../../evil.py"`},
		{"a wheel's member up out of its package", member("acme_tools/../../evil.py"), `"acme_tools/../../evil.py"`},
		{"a wheel's absolute member", member("/etc/profile.d/evil.sh"), `"/etc/profile.d/evil.sh"`},
		{"a wheel's member with a backslash", member(`acme_tools\..\..\evil.py`), `acme_tools\\..\\..\\evil.py`},
		{"a wheel's member on a drive", member("C:/Windows/evil.py"), `"C:/Windows/evil.py"`},
		{"a wheel's member with a NUL", member("acme_tools/evil.py\x00.txt"), `evil.py\x00.txt`},
		{"a second .dist-info folder", member("evil-6.6.6.dist-info/METADATA"), "evil-6.6.6.dist-info/"},
		{"a second .dist-info folder of the project's name", member("Acme_Tools-1.0.dist-info/entry_points.txt"), "Acme_Tools-1.0.dist-info/"},
		{"Name twice, another project first", twice("Name", "requests"), "Name header appears twice"},
		{"Version twice, another version first", twice("Version", "9.9"), "Version header appears twice"},
		{"Metadata-Version twice", twice("Metadata-Version", "1.0"), "Metadata-Version header appears twice"},
		{"an sdist's member up out of it, past PKG-INFO", sdistOf(t, false, [2]string{"demo-1.0/PKG-INFO", pkgInfo}, [2]string{"demo-1.0/../../evil.py", ""}), `"demo-1.0/../../evil.py"`},
		{"an sdist's absolute member before PKG-INFO", sdistOf(t, false, [2]string{"/tmp/evil.py", ""}, [2]string{"demo-1.0/PKG-INFO", pkgInfo}), `"/tmp/evil.py"`},
		{"a zip sdist's member with a backslash", sdistOf(t, true, [2]string{"demo-1.0/PKG-INFO", pkgInfo}, [2]string{`demo-1.0\..\evil.py`, ""}), `demo-1.0\\..\\evil.py`},
		{"an sdist's Name twice", sdistOf(t, false, [2]string{"demo-1.0/PKG-INFO", "Metadata-Version: 2.1\nName: evil\nName: demo\nVersion: 1.0\n\n"}), "Name header appears twice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			// A server each: one case stored would answer the next 409.
			dir, _, base := uploadServer(t)
			resp, body, err := postUpload(t, base, c.file, nil, "alice", "pw")
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), c.want) {
				t.Errorf("uploading %s: %d %s, want 400 naming %s", c.file.Filename, resp.StatusCode, body, c.want)
			}
			if onDisk, listed := storedFiles(t, dir); len(onDisk) != 0 || len(listed) != 0 {
				t.Errorf("a refused upload left files %q, entries %q", onDisk, listed)
			}
		})
	}
	dir, _, base := uploadServer(t)
	t.Run("twine", func(t *testing.T) {
		testenv.Slow(t, "runs twine")
		p := filepath.Join(t.TempDir(), w.Filename)
		if err := os.WriteFile(p, member("../../evil.py").Data, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := uploadtest.Twine(t, base+"/legacy/", "alice", "pw", []string{p})
		if err == nil || !strings.Contains(out, "400") {
			t.Errorf("twine succeeded or did not report 400: %v\n%s", err, out)
		}
		if onDisk, listed := storedFiles(t, dir); len(onDisk) != 0 || len(listed) != 0 {
			t.Fatalf("a refused upload left files %q, entries %q", onDisk, listed)
		}
	})
	// The same archives without what was refused are taken.
	mustUpload(t, base, withListedMembers(t, w, map[string]string{"acme_tools/extra.py": ""}, nil), "alice", "pw")
	mustUpload(t, base, sdistOf(t, false, [2]string{"demo-1.0/PKG-INFO", pkgInfo}, [2]string{"demo-1.0/setup.py", ""}), "alice", "pw")
	mustUpload(t, base, sdistOf(t, true, [2]string{"demo-1.0/PKG-INFO", pkgInfo}, [2]string{"demo-1.0/setup.py", ""}), "alice", "pw")
}
