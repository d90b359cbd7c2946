package dist

import (
	"strings"
	"testing"
)

func TestParseSdistNameSplitsAtTheProjectName(t *testing.T) {
	tests := []struct {
		file, project      string
		name, version, ext string
	}{
		{"requests-2.31.0.tar.gz", "requests", "requests", "2.31.0", ".tar.gz"},
		{"python-dateutil-2.8.2.tar.gz", "python-dateutil", "python-dateutil", "2.8.2", ".tar.gz"},
		{"python_dateutil-2.8.2.tar.gz", "Python-Dateutil", "python_dateutil", "2.8.2", ".tar.gz"},
		{"zope.interface-6.0.zip", "zope-interface", "zope.interface", "6.0", ".zip"},
		{"django-googlecharts-1.0-alpha-1.tar.gz", "django-googlecharts", "django-googlecharts", "1.0-alpha-1", ".tar.gz"},
		{"foo-2-1.0.tgz", "foo-2", "foo-2", "1.0", ".tgz"},
		{"foo-2-1.0.tgz", "foo", "foo", "2-1.0", ".tgz"},
		{"PyYAML-6.0.1.tar.bz2", "pyyaml", "PyYAML", "6.0.1", ".tar.bz2"},
		{"lxml-4.9.3.tar.xz", "lxml", "lxml", "4.9.3", ".tar.xz"},
		{"foo-1.0.tar", "foo", "foo", "1.0", ".tar"},
	}
	for _, tt := range tests {
		s, err := ParseSdistName(tt.file, tt.project)
		if err != nil {
			t.Errorf("ParseSdistName(%q, %q): %v", tt.file, tt.project, err)
			continue
		}
		if s.Name != tt.name || s.Version != tt.version || s.Ext != tt.ext {
			t.Errorf("ParseSdistName(%q, %q) = %+v, want %s %s %s", tt.file, tt.project, s, tt.name, tt.version, tt.ext)
		}
		if s.String() != tt.file {
			t.Errorf("String() = %q, want %q", s.String(), tt.file)
		}
	}
}

func TestParseSdistNameRejectsOtherProjectsAndFormsQuotingThem(t *testing.T) {
	tests := []struct{ file, project, why string }{
		{"requests-2.31.0.tar.gz", "request", "not NAME-VERSION for project"},
		{"requests-2.31.0.tar.gz", "requests-2", "not NAME-VERSION"},
		{"requests-.tar.gz", "requests", "no version"},
		{"requests.tar.gz", "requests", "not NAME-VERSION"},
		{"requests-2.31.0.whl", "requests", "archive extension"},
		{"requests-2.31.0.TAR.GZ", "requests", "archive extension"},
		{"requests-2.31.0.tar.gz", "", "empty project name"},
		{".tar.gz", "x", "archive extension"},
	}
	for _, tt := range tests {
		_, err := ParseSdistName(tt.file, tt.project)
		if err == nil || !strings.Contains(err.Error(), tt.why) || !strings.Contains(err.Error(), tt.file) {
			t.Errorf("ParseSdistName(%q, %q) error = %v, want it to quote the file and say %q", tt.file, tt.project, err, tt.why)
		}
	}
}

func TestGuessSdistNameSplitsBeforeTheVersion(t *testing.T) {
	tests := []struct{ file, name, version string }{
		{"requests-2.31.0.tar.gz", "requests", "2.31.0"},
		{"foo_bar-1.0.tar.gz", "foo_bar", "1.0"},
		{"python-dateutil-2.8.2.tar.gz", "python-dateutil", "2.8.2"},
		{"django-googlecharts-1.0-alpha-1.tar.gz", "django-googlecharts", "1.0-alpha-1"},
		{"foo-1.0-1.zip", "foo", "1.0-1"},
		{"django-2fa-1.0.tar.gz", "django-2fa", "1.0"},
		{"plonetheme-python-0.1dev-r57597.tar.gz", "plonetheme-python", "0.1dev-r57597"},
		{"foo-v1.2.tgz", "foo", "v1.2"},
		{"foo-1.0+local.7.tar.gz", "foo", "1.0+local.7"},
		{"square-1-4-9.tar.gz", "square-1-4", "9"},
		{"foo-1.5-2.0.tar.gz", "foo-1.5", "2.0"},
		{"micropython-curses-ascii-3.4.2-1.tar.gz", "micropython-curses-ascii", "3.4.2-1"},
	}
	for _, tt := range tests {
		s, err := GuessSdistName(tt.file)
		if err != nil || s.Name != tt.name || s.Version != tt.version {
			t.Errorf("GuessSdistName(%q) = %+v, %v; want %s %s", tt.file, s, err, tt.name, tt.version)
		}
	}
	for _, bad := range []string{"foo.tar.gz", "foo-bar.tar.gz", "foo-.tar.gz", "-1.0.tar.gz", "foo-1.0.rar"} {
		if s, err := GuessSdistName(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("GuessSdistName(%q) = %+v, %v; want an error quoting it", bad, s, err)
		}
	}
}

type sdistResult struct {
	PipVersion *string `json:"pip_version"`
	OK         bool    `json:"ok"`
	ErrorKind  string  `json:"error_kind"`
	Name       string  `json:"name"`
	Version    string  `json:"version"`
	GoVersion  *string `json:"go_version"`
}

// TestSdistNamesMatchPipAndPackaging compares ParseSdistName with the way
// pip finds a version in a link for a project, and GuessSdistName with
// packaging's parse_sdist_filename. packaging splits at the last "-"
// (PEP 625 versions have none), so for legacy versions with a dash it
// finds another project ("django-googlecharts-1.0-alpha" version "1");
// there GuessSdistName must find what pip finds knowing the project.
func TestSdistNamesMatchPipAndPackaging(t *testing.T) {
	names, versions := pypiSample(t)
	type scase struct {
		Filename  string `json:"filename"`
		Project   string `json:"project"`
		GoVersion string `json:"go_version,omitempty"`
		version   string // the real version, when known
	}
	var cases []scase
	exts := []string{".tar.gz", ".zip", ".tar.bz2", ".tgz"}
	for i, n := range names {
		v := versions[i]
		cases = append(cases,
			scase{Filename: n + "-" + v + exts[i%len(exts)], Project: n, version: v},
			scase{Filename: escapeWheelName(n) + "-" + v + ".tar.gz", Project: strings.ToUpper(n), version: v},
			scase{Filename: n + "-" + v + ".tar.gz", Project: n + "-x", version: v},
		)
	}
	cases = append(cases,
		scase{Filename: "foo-1.0.TAR.GZ", Project: "foo"},
		scase{Filename: "foo-1.0.tar.lzma", Project: "foo"},
		scase{Filename: "foo-.tar.gz", Project: "foo"},
		scase{Filename: "foo-1.0.rar", Project: "foo"},
	)
	guessed := make([]SdistName, len(cases))
	guessErr := make([]error, len(cases))
	for i := range cases {
		guessed[i], guessErr[i] = GuessSdistName(cases[i].Filename)
		cases[i].GoVersion = guessed[i].Version
	}
	results := referenceResults[scase, sdistResult](t, "sdists", "cases", cases)
	withProject, guessedLikePip, likePackaging := 0, 0, 0
	for i, ref := range results {
		c := cases[i]
		s, err := ParseSdistName(c.Filename, c.Project)
		switch {
		case ref.PipVersion == nil && err == nil:
			t.Errorf("ParseSdistName(%q, %q) = %+v, pip finds no version", c.Filename, c.Project, s)
		case ref.PipVersion != nil && err != nil:
			t.Errorf("ParseSdistName(%q, %q): %v; pip finds version %q", c.Filename, c.Project, err, *ref.PipVersion)
		case ref.PipVersion != nil && s.Version != *ref.PipVersion:
			t.Errorf("ParseSdistName(%q, %q) version %q, pip finds %q", c.Filename, c.Project, s.Version, *ref.PipVersion)
		case ref.PipVersion != nil:
			withProject++
			if guessErr[i] == nil && guessed[i].Version == s.Version {
				guessedLikePip++
			}
		}
		if ref.OK && c.version != "" && !strings.Contains(c.version, "-") {
			// No dash in the version: packaging's split is the right one.
			g := guessed[i]
			if guessErr[i] != nil || g.Project() != ref.Name || ref.GoVersion == nil || *ref.GoVersion != ref.Version {
				t.Errorf("GuessSdistName(%q) = %+v, %v; packaging gives %s %s", c.Filename, g, guessErr[i], ref.Name, ref.Version)
			} else {
				likePackaging++
			}
		}
	}
	t.Logf("%d filenames: ParseSdistName agrees with pip on %d found versions; GuessSdistName finds the same %d times, agrees with packaging %d times",
		len(cases), withProject, guessedLikePip, likePackaging)
	if guessedLikePip < withProject*99/100 {
		t.Errorf("GuessSdistName finds pip's version for only %d of %d files", guessedLikePip, withProject)
	}
}
