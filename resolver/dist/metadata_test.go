package dist

import (
	"bytes"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
)

const requestsMetadata = `Metadata-Version: 2.1
Name: requests
Version: 2.31.0
Summary: Python HTTP for Humans.
Home-page: https://requests.readthedocs.io
Author: Kenneth Reitz
License: Apache 2.0
Project-URL: Documentation, https://requests.readthedocs.io
Project-URL: Source, https://github.com/psf/requests
Classifier: Programming Language :: Python :: 3
Classifier: Programming Language :: Python :: 3.7
Requires-Python: >=3.7
Description-Content-Type: text/markdown
License-File: LICENSE
Requires-Dist: charset-normalizer (<4,>=2)
Requires-Dist: idna (<4,>=2.5)
Requires-Dist: urllib3 (<3,>=1.21.1)
Requires-Dist: certifi (>=2017.4.17)
Provides-Extra: security
Provides-Extra: socks
Requires-Dist: PySocks (!=1.5.7,>=1.5.6) ; extra == 'socks'
Provides-Extra: use_chardet_on_py3
Requires-Dist: chardet (<6,>=3.0.2) ; extra == 'use_chardet_on_py3'

# Requests

**Requests** is a simple, yet elegant, HTTP library.

` + "```python\n>>> import requests\n```\n"

// mustParseMetadata parses text, which the test knows to be valid.
func mustParseMetadata(t *testing.T, text string) *Metadata {
	t.Helper()
	m, err := ParseMetadata(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParseMetadataReadsFieldsRepeatsAndBody(t *testing.T) {
	m := mustParseMetadata(t, requestsMetadata)
	if m.MetadataVersion != "2.1" || m.Name != "requests" || m.Version != "2.31.0" ||
		m.Summary != "Python HTTP for Humans." || m.RequiresPython != ">=3.7" ||
		m.DescriptionContentType != "text/markdown" {
		t.Errorf("single fields: %+v", m)
	}
	wantDist := []string{
		"charset-normalizer (<4,>=2)", "idna (<4,>=2.5)", "urllib3 (<3,>=1.21.1)", "certifi (>=2017.4.17)",
		"PySocks (!=1.5.7,>=1.5.6) ; extra == 'socks'", "chardet (<6,>=3.0.2) ; extra == 'use_chardet_on_py3'",
	}
	if !slices.Equal(m.RequiresDist, wantDist) {
		t.Errorf("RequiresDist = %q", m.RequiresDist)
	}
	if !slices.Equal(m.ProvidesExtra, []string{"security", "socks", "use_chardet_on_py3"}) {
		t.Errorf("ProvidesExtra = %q", m.ProvidesExtra)
	}
	if !strings.HasPrefix(m.Description, "# Requests\n\n**Requests**") || !strings.HasSuffix(m.Description, "```\n") {
		t.Errorf("Description = %q", m.Description)
	}
	if got := m.Fields["project-url"]; len(got) != 2 || got[1] != "Source, https://github.com/psf/requests" {
		t.Errorf("Fields[project-url] = %q", got)
	}
	if m.Get("HOME-PAGE") != "https://requests.readthedocs.io" || m.Get("Maintainer") != "" {
		t.Errorf("Get is not case-insensitive or invents values")
	}
	if m.Dynamic != nil {
		t.Errorf("Dynamic = %q, want none", m.Dynamic)
	}
}

func TestParseMetadataReadsContinuationLinesAndCRLF(t *testing.T) {
	text := "Metadata-Version: 2.2\r\nName:   foo  \r\nVersion: 1.0\r\n" +
		"License: Line one\r\n   line two\r\n\tline three\r\n" +
		"Dynamic: Requires-Dist\r\nDynamic: Summary\r\n" +
		"Keywords:\r\n  a,b\r\n\r\nBody line\r\nsecond\r\n"
	m := mustParseMetadata(t, text)
	if m.Name != "foo" {
		t.Errorf("Name = %q, want it trimmed", m.Name)
	}
	if got := m.Get("license"); got != "Line one\n   line two\n\tline three" {
		t.Errorf("License = %q", got)
	}
	if got := m.Get("keywords"); got != "\n  a,b" {
		t.Errorf("Keywords = %q, want the raw folded value", got)
	}
	if !slices.Equal(m.Dynamic, []string{"Requires-Dist", "Summary"}) {
		t.Errorf("Dynamic = %q", m.Dynamic)
	}
	if m.Description != "Body line\nsecond\n" {
		t.Errorf("Description = %q", m.Description)
	}
}

func TestParseMetadataUnfoldsADescriptionHeader(t *testing.T) {
	// Core metadata, Description: "any CRLF character has to be suffixed by
	// 7 spaces followed by a pipe ("|") char"; distutils wrote 8 spaces.
	text := "Metadata-Version: 1.1\nName: old\nVersion: 0.1\n" +
		"Description: This project provides\n" +
		"       |For example:\n" +
		"       |\n" +
		"       |    >>> sum(1, 2)\n" +
		"        distutils style\n" +
		"            indented\n" +
		"Platform: UNKNOWN\n"
	m := mustParseMetadata(t, text)
	want := "This project provides\nFor example:\n\n    >>> sum(1, 2)\ndistutils style\n    indented"
	if m.Description != want {
		t.Errorf("Description = %q, want %q", m.Description, want)
	}
}

func TestParseMetadataAcceptsEveryKnownVersionAndNewerMinors(t *testing.T) {
	for _, v := range []string{"1.0", "1.1", "1.2", "2.0", "2.1", "2.2", "2.3", "2.4", "2.5", "2.10"} {
		text := "Metadata-Version: " + v + "\nName: foo\nVersion: 1.0\n"
		if _, err := ParseMetadata(strings.NewReader(text)); err != nil {
			t.Errorf("Metadata-Version %s: %v", v, err)
		}
	}
}

func TestParseMetadataRejectsMissingOrUnknownRequiredFieldsQuotingThem(t *testing.T) {
	// Core metadata, Metadata-Version: tools "MUST fail if metadata_version
	// has a greater major version than the highest version they support".
	tests := []struct{ text, why string }{
		{"Metadata-Version: 3.0\nName: foo\nVersion: 1\n", `Metadata-Version "3.0": major version 3 is newer`},
		{"Metadata-Version: 10.1\nName: foo\nVersion: 1\n", `Metadata-Version "10.1"`},
		{"Metadata-Version: 0.9\nName: foo\nVersion: 1\n", `Metadata-Version "0.9": no such version`},
		{"Metadata-Version: two\nName: foo\nVersion: 1\n", `Metadata-Version "two": want MAJOR.MINOR`},
		{"Metadata-Version: 2\nName: foo\nVersion: 1\n", `Metadata-Version "2": want MAJOR.MINOR`},
		{"Metadata-Version: 2.-1\nName: foo\nVersion: 1\n", `want MAJOR.MINOR`},
		{"Name: foo\nVersion: 1\n", "no Metadata-Version (headers found: name, version)"},
		{"Metadata-Version: 2.1\nVersion: 1\nSummary: x\n", "no Name (headers found: metadata-version, summary, version)"},
		{"Metadata-Version: 2.1\nName: \nVersion: 1\n", "no Name"},
		{"Metadata-Version: 2.1\nName: foo\n", `no Version for "foo"`},
		{"", "no Metadata-Version (no headers found)"},
		{"just some text\nMetadata-Version: 2.1\n", "no Metadata-Version (no headers found)"},
	}
	for _, tt := range tests {
		_, err := ParseMetadata(strings.NewReader(tt.text))
		if err == nil || !strings.Contains(err.Error(), tt.why) {
			t.Errorf("ParseMetadata(%q) error = %v, want %q", tt.text, err, tt.why)
		}
	}
}

func TestParseMetadataRefusesHugeInput(t *testing.T) {
	head := "Metadata-Version: 2.1\nName: foo\nVersion: 1\n\n"
	r := io.MultiReader(strings.NewReader(head), io.LimitReader(zeros{}, MaxMetadataSize))
	if _, err := ParseMetadata(r); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("ParseMetadata of %d bytes: %v, want a size error", MaxMetadataSize+len(head), err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// emailCorpus holds header blocks that exercise the corners of Python's
// email parser: continuation lines, odd header names, missing separators,
// envelope lines, CRLF and lone CR line ends.
var emailCorpus = []string{
	requestsMetadata,
	"Metadata-Version: 2.1\nName: a\nVersion: 1\n",
	"Metadata-Version: 2.1\nName: a\nVersion: 1",
	"Metadata-Version: 2.1\nName: a\nVersion: 1\n\n",
	"Metadata-Version: 2.1\nName: a\nVersion: 1\n\n\nbody after blank\n\n",
	"Metadata-Version: 2.1\r\nName: a\r\nVersion: 1\r\n\r\nbody\r\n",
	"Metadata-Version: 2.1\rName: a\rVersion: 1\r\rbody\r",
	"Name:a\nName:  b\nname: c\nNAME:\td\n",
	"Summary: one\n two\n\tthree\n    \nVersion: 1\n",
	"Summary:\n  folded from an empty first line\n",
	" leading continuation\nName: a\n",
	"Name: a\nnot a header line\nVersion: 1\n",
	"Name: a\nBad Name: b\nVersion: 1\n",
	"Name: a\n: no name\n continuation of nothing\nVersion: 1\n",
	"From someone\nName: a\n",
	"Name: a\nFrom the middle\n continued\nVersion: 1\n",
	"Name: a\nFrom the end\n\nbody\n",
	"Name: a\nX-Weird~Name!: yes\nx_under_score: 1\n",
	"Name: a\nColons: a: b: c\nEmpty:\n",
	"Name: café\nSummary: ünïcödé ✓\n\nBödy\n",
	"Name: a\nVersion: 1\n\x00binary: zero\n",
	"\n\nonly a body\n",
	"Name: a\n   \n\nbody\n",
	"Name: a\nVersion: 1\nDescription: legacy\n        |with pipe\n        plain\n",
	"Name\n",
	"Name: a\nName2:b\nTrailing-Space: x   \n",
	"",
}

func TestParseHeadersMatchesPythonEmailParser(t *testing.T) {
	type parsed struct {
		Fields map[string][]string `json:"fields"`
		Body   *string             `json:"body"`
	}
	results := referenceResults[string, parsed](t, "metadata", "texts", emailCorpus)
	for i, text := range emailCorpus {
		fields, body := parseHeaders(text)
		want := results[i]
		for k, vs := range want.Fields {
			for j := range vs {
				vs[j] = normalizeNewlines(vs[j])
			}
			want.Fields[k] = vs
		}
		if !maps.EqualFunc(fields, want.Fields, slices.Equal) {
			t.Errorf("parseHeaders(%q) fields = %q, email.parser gives %q", text, fields, want.Fields)
		}
		if want.Body == nil || body != normalizeNewlines(*want.Body) {
			t.Errorf("parseHeaders(%q) body = %q, email.parser gives %q", text, body, derefOr(want.Body, "<none>"))
		}
	}
}

func TestParseMetadataReadsABytesReaderLikeAStringOne(t *testing.T) {
	a, err1 := ParseMetadata(strings.NewReader(requestsMetadata))
	b, err2 := ParseMetadata(bytes.NewReader([]byte(requestsMetadata)))
	if err1 != nil || err2 != nil || a.Description != b.Description || !slices.Equal(a.RequiresDist, b.RequiresDist) {
		t.Errorf("readers disagree: %v %v", err1, err2)
	}
}
