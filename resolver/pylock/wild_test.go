package pylock

import (
	"strings"
	"testing"
)

// TestAnotherFormatNamedLikeALockIsSaidToBeWhatItIs loads files from the
// wild named pylock*.toml that are not PEP 751 locks
// (testdata/pylock/wild, provenance in its README) and small documents of
// other tools' formats: the error names the file and the line or key,
// says what the file is, and how to get a PEP 751 lock.
func TestAnotherFormatNamedLikeALockIsSaidToBeWhatItIs(t *testing.T) {
	for _, tc := range []struct {
		name, file, doc string
		want            []string
	}{
		{
			name: "a requirements file written by uv export without --format",
			file: "pylock.requirements.toml",
			want: []string{"pylock.requirements.toml:3: ", `this is a pip requirements file (line 3: "-e ."), not a PEP 751 lock`, "uv export --format pylock.toml"},
		},
		{
			name: "PDM's own lock format",
			file: "pylock.pdm-lock-format.toml",
			want: []string{"pylock.pdm-lock-format.toml: lock-version: missing required key: this is a PDM lock", "pdm export -f pylock"},
		},
		{
			name: "a Poetry lock",
			doc:  "[[package]]\nname = \"idna\"\nversion = \"3.6\"\n\n[metadata]\nlock-version = \"2.1\"\npython-versions = \"^3.11\"\ncontent-hash = \"ab\"\n",
			want: []string{"lock-version: missing required key: this is a Poetry lock", "pyproject.toml"},
		},
		{
			name: "a uv lock",
			doc:  "version = 1\nrevision = 3\n\n[[package]]\nname = \"idna\"\nversion = \"3.6\"\nsource = { registry = \"https://pypi.org/simple\" }\n",
			want: []string{"lock-version: missing required key: this is a uv lock", "name it uv.lock"},
		},
		{
			name: "a document with nothing but a comment",
			doc:  "# Generated lock\n",
			want: []string{"lock-version: missing required key: the document is empty"},
		},
		{
			name: "a requirements file of pins alone",
			doc:  "anyio==4.9.0 \\\n    --hash=sha256:673c0c244e15788651a4ff38710fea9675823028a6f08a5eda409e0c9840a028\nidna==3.10\n",
			want: []string{`this is a pip requirements file (line 1: "anyio==4.9.0 \\")`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.file != "" {
				_, err = Load("../../testdata/pylock/wild/" + tc.file)
			} else {
				_, err = Decode(strings.NewReader(tc.doc))
			}
			if err == nil {
				t.Fatal("the file was read as a lock")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nwant it to hold %q", err, w)
				}
			}
		})
	}
}

// TestABrokenLockIsNoRequirementsFile keeps a TOML lock with a syntax
// error a syntax error: only a document whose first line is a
// requirement is said to be a requirements file.
func TestABrokenLockIsNoRequirementsFile(t *testing.T) {
	_, err := Decode(strings.NewReader("lock-version = \"1.0\"\ncreated-by = \"x\"\n[[packages]]\nname = \"a\"\nsdist = { url = \"u\", upload-time = 2025-12-04LAB-NODE-01:49:44Z }\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "line 5: ") || strings.Contains(err.Error(), "requirements") {
		t.Errorf("Decode = %v, want the syntax error of line 5 alone", err)
	}
}
