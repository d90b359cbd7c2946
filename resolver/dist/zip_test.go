package dist

import (
	"archive/zip"
	"bytes"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

type zipEntry struct {
	name, body string
	store      bool // no compression
}

// makeZip builds an archive in memory the way wheel builders lay them out.
func makeZip(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.store {
			h.Method = zip.Store
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// wheelEntries is a small but complete wheel: package, dist-info and RECORD.
func wheelEntries(distInfo, metadata string) []zipEntry {
	return []zipEntry{
		{name: "requests/__init__.py", body: "from .api import get\n"},
		{name: "requests/api.py", body: strings.Repeat("def get(): pass\n", 200)},
		{name: distInfo + "/LICENSE", body: "Apache 2.0\n"},
		{name: distInfo + "/METADATA", body: metadata},
		{name: distInfo + "/WHEEL", body: "Wheel-Version: 1.0\nGenerator: bdist_wheel (0.41.2)\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
		{name: distInfo + "/top_level.txt", body: "requests\n"},
		{name: distInfo + "/RECORD", body: "requests/__init__.py,sha256=x,21\n"},
	}
}

func TestReadWheelMetadataReadsTheDistInfoMetadata(t *testing.T) {
	data := makeZip(t, wheelEntries("requests-2.31.0.dist-info", requestsMetadata)...)
	m, raw, err := ReadWheelMetadata(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "requests" || m.Version != "2.31.0" || len(m.RequiresDist) != 6 {
		t.Errorf("metadata = %s %s %q", m.Name, m.Version, m.RequiresDist)
	}
	if string(raw) != requestsMetadata {
		t.Errorf("raw METADATA differs from the archived file")
	}
}

func TestReadWheelMetadataMatchesEscapedAndLegacyDirectoryNames(t *testing.T) {
	tests := []struct{ dir, name string }{
		{"zope.interface-6.0.dist-info", "zope.interface"},
		{"zope_interface-6.0.dist-info", "Zope.Interface"},
		{"Django-4.2.7.dist-info", "Django"},
		{"foo.dist-info", "foo"},
	}
	for _, tt := range tests {
		meta := "Metadata-Version: 2.1\nName: " + tt.name + "\nVersion: 6.0\n"
		data := makeZip(t, wheelEntries(tt.dir, meta)...)
		if _, _, err := ReadWheelMetadata(bytes.NewReader(data), int64(len(data))); err != nil {
			t.Errorf("%s with Name %s: %v", tt.dir, tt.name, err)
		}
	}
}

func TestReadWheelMetadataRejectsMalformedWheelsSayingWhy(t *testing.T) {
	meta := "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\n"
	tests := []struct {
		what    string
		entries []zipEntry
		why     string
	}{
		{"two dist-info directories", append(wheelEntries("requests-2.31.0.dist-info", meta),
			zipEntry{name: "urllib3-2.0.dist-info/METADATA", body: meta}),
			"2 .dist-info directories (requests-2.31.0.dist-info, urllib3-2.0.dist-info)"},
		{"no dist-info", []zipEntry{{name: "requests/__init__.py"}}, "no .dist-info directory"},
		{"no METADATA", []zipEntry{{name: "requests-2.31.0.dist-info/RECORD"}},
			"has requests-2.31.0.dist-info/ but no requests-2.31.0.dist-info/METADATA"},
		{"nested dist-info only", []zipEntry{{name: "vendor/x-1.dist-info/METADATA", body: meta}}, "no .dist-info directory"},
		{"two METADATA", append(wheelEntries("requests-2.31.0.dist-info", meta),
			zipEntry{name: "requests-2.31.0.dist-info/METADATA", body: strings.Replace(meta, "requests", "evil", 1)}),
			"METADATA twice"},
		{"another project's metadata", wheelEntries("requests-2.31.0.dist-info", strings.Replace(meta, "requests", "urllib3", 1)),
			`requests-2.31.0.dist-info names project "urllib3"`},
		{"bad metadata", wheelEntries("requests-2.31.0.dist-info", "Metadata-Version: 3.0\nName: requests\nVersion: 1\n"),
			`Metadata-Version "3.0"`},
	}
	for _, tt := range tests {
		data := makeZip(t, tt.entries...)
		_, _, err := ReadWheelMetadata(bytes.NewReader(data), int64(len(data)))
		if err == nil || !strings.Contains(err.Error(), tt.why) {
			t.Errorf("%s: error = %v, want %q", tt.what, err, tt.why)
		}
	}
}

// TestReadWheelMetadataRefusesMembersAnInstallerRefuses: a wheel with a
// member an installer would write outside its folder (up, absolute, a
// backslash, a drive, a NUL) is refused naming the member, so that a
// fetch never keeps and a lock never pins a wheel pip will not install,
// while its METADATA is fine.
func TestReadWheelMetadataRefusesMembersAnInstallerRefuses(t *testing.T) {
	meta := "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\n"
	for _, member := range []string{"../../evil.py", "requests/../../evil.py", "/etc/evil.py", `requests\..\..\evil.py`, "C:/evil.py", "requests/evil\x00.py"} {
		data := makeZip(t, append(wheelEntries("requests-2.31.0.dist-info", meta), zipEntry{name: member, body: "x"})...)
		_, _, err := ReadWheelMetadata(bytes.NewReader(data), int64(len(data)))
		if err == nil || !strings.Contains(err.Error(), strconv.Quote(member)) {
			t.Errorf("a wheel with member %q: error = %v, want one naming it", member, err)
		}
	}
}

func TestReadWheelMetadataRejectsCorruptArchives(t *testing.T) {
	good := makeZip(t, wheelEntries("requests-2.31.0.dist-info", requestsMetadata)...)
	truncated := good[:len(good)-30]
	if _, _, err := ReadWheelMetadata(bytes.NewReader(truncated), int64(len(truncated))); err == nil {
		t.Error("truncated archive: no error")
	}
	// Flip a byte inside the stored METADATA: the CRC check must catch it.
	stored := makeZip(t, zipEntry{name: "requests-2.31.0.dist-info/METADATA", body: requestsMetadata, store: true})
	i := bytes.Index(stored, []byte("Python HTTP"))
	stored[i] ^= 0x20
	if _, _, err := ReadWheelMetadata(bytes.NewReader(stored), int64(len(stored))); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("corrupt METADATA: error = %v, want a checksum error", err)
	}
	notZip := []byte("this is not a zip archive at all")
	if _, _, err := ReadWheelMetadata(bytes.NewReader(notZip), int64(len(notZip))); err == nil || !strings.Contains(err.Error(), "reading wheel") {
		t.Errorf("not a zip: error = %v", err)
	}
}

func TestReadWheelMetadataRefusesOversizedMetadata(t *testing.T) {
	big := "Metadata-Version: 2.1\nName: requests\nVersion: 1\n\n" + strings.Repeat("x", MaxMetadataSize)
	data := makeZip(t, zipEntry{name: "requests-1.dist-info/METADATA", body: big, store: true})
	if _, _, err := ReadWheelMetadata(bytes.NewReader(data), int64(len(data))); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("oversized METADATA: error = %v", err)
	}
}

// countingReaderAt counts the bytes an archive reader asks for.
type countingReaderAt struct {
	r io.ReaderAt
	n atomic.Int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

func TestReadWheelMetadataReadsLittleOfALargeWheel(t *testing.T) {
	// A ranged HTTP reader pays for every byte: the metadata of a wheel
	// with a large shared library must cost a few kilobytes.
	payload := strings.Repeat("\x7fELF binary data that does not compress well 0123456789", 100_000)
	entries := append([]zipEntry{{name: "torch/lib/libtorch.so", body: payload, store: true}},
		wheelEntries("torch-2.1.0+cpu.dist-info", strings.NewReplacer("requests", "torch", "2.31.0", "2.1.0+cpu").Replace(requestsMetadata))...)
	data := makeZip(t, entries...)
	r := &countingReaderAt{r: bytes.NewReader(data)}
	if _, _, err := ReadWheelMetadata(r, int64(len(data))); err != nil {
		t.Fatal(err)
	}
	if got := r.n.Load(); got > 64<<10 {
		t.Errorf("read %d of %d bytes, want under 64 KiB", got, len(data))
	}
}

func TestFindMetadataInZipChecksTheProject(t *testing.T) {
	data := makeZip(t, wheelEntries("python_dateutil-2.8.2.dist-info", "x")...)
	z, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"", "python-dateutil", "Python.DateUtil"} {
		f, err := FindMetadataInZip(z, p)
		if err != nil || f.Name != "python_dateutil-2.8.2.dist-info/METADATA" {
			t.Errorf("FindMetadataInZip(%q) = %v, %v", p, f, err)
		}
	}
	if _, err := FindMetadataInZip(z, "python"); err == nil || !strings.Contains(err.Error(), `not for project "python"`) {
		t.Errorf("FindMetadataInZip(python) error = %v", err)
	}
}
