package dist

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/parsetest"
)

func FuzzParseWheelName(f *testing.F) {
	for _, s := range []string{
		"pyzmq-25.1.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
		"torch-2.1.0+cpu-cp311-cp311-linux_x86_64.whl",
		"foo-1.0-1-py3-none-any.whl",
		"six-1.16.0-py2.py3-none-any.whl",
		"zope.interface-6.0-cp311-cp311-manylinux_2_17_aarch64.whl",
		"tensorflow_cpu-2.15.0-20231115_1-cp311-cp311-manylinux_2_17_x86_64.whl",
		"foo-1!2.0rc1.post3.dev4-py3-none-any.whl",
		"foo-bar-1.0-py3-none-any.whl",
		"foo-1.0-99999999999999999999-py3-none-any.whl",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := ParseWheelName(s)
		if parsetest.Refused(t, s, err) {
			return
		}
		if got := w.String(); got != s {
			t.Fatalf("ParseWheelName(%q).String() = %q", s, got)
		}
		if len(w.Tags) == 0 || w.Name == "" || w.Version == "" || !ValidName(w.Name) {
			t.Fatalf("ParseWheelName(%q) = %+v", s, w)
		}
		n, rest := w.BuildNumber()
		if w.Build == "" {
			if n != -1 || rest != "" {
				t.Fatalf("no build tag gives BuildNumber %d, %q", n, rest)
			}
			return
		}
		digits := strings.TrimSuffix(w.Build, rest)
		if want, err := strconv.Atoi(digits); err != nil || n != want || digits+rest != w.Build {
			t.Fatalf("BuildNumber of %q = %d, %q", w.Build, n, rest)
		}
	})
}

func FuzzParseMetadata(f *testing.F) {
	for _, s := range emailCorpus {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMetadata(bytes.NewReader(data))
		if err != nil {
			return
		}
		if m.Name == "" || m.Version == "" || m.MetadataVersion == "" {
			t.Fatalf("ParseMetadata(%q) accepted %+v", data, m)
		}
		if m.Name != strings.TrimSpace(m.Name) || strings.Contains(m.Name, "\r") {
			t.Fatalf("Name %q is not trimmed", m.Name)
		}
		for k := range m.Fields {
			if k != strings.ToLower(k) || k == "" || strings.ContainsAny(k, ": \t\n") {
				t.Fatalf("field name %q", k)
			}
		}
		for _, vs := range m.Fields {
			for _, v := range vs {
				if strings.Contains(v, "\r") {
					t.Fatalf("value %q keeps a CR", v)
				}
			}
		}
	})
}

func BenchmarkParseWheelName(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseWheelName("pyzmq-25.1.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadWheelMetadata(b *testing.B) {
	data := makeZip(b, wheelEntries("requests-2.31.0.dist-info", requestsMetadata)...)
	r := bytes.NewReader(data)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, _, err := ReadWheelMetadata(r, int64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseMetadata(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseMetadata(strings.NewReader(requestsMetadata)); err != nil {
			b.Fatal(err)
		}
	}
}
