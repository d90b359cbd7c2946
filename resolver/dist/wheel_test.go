package dist

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/parsetest"
	"github.com/larder-build/larder/resolver/tags"
)

func tagStrings(ts []tags.Tag) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.String()
	}
	return out
}

func TestParseWheelNameReadsRealFilenames(t *testing.T) {
	tests := []struct {
		in                   string
		name, version, build string
		tags                 []string
	}{
		{"pyzmq-25.1.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "pyzmq", "25.1.1", "",
			[]string{"cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-manylinux2014_x86_64"}},
		{"torch-2.1.0+cpu-cp311-cp311-linux_x86_64.whl", "torch", "2.1.0+cpu", "", []string{"cp311-cp311-linux_x86_64"}},
		{"foo-1.0-1-py3-none-any.whl", "foo", "1.0", "1", []string{"py3-none-any"}},
		{"six-1.16.0-py2.py3-none-any.whl", "six", "1.16.0", "", []string{"py2-none-any", "py3-none-any"}},
		{"zope.interface-6.0-cp311-cp311-manylinux_2_17_aarch64.whl", "zope.interface", "6.0", "",
			[]string{"cp311-cp311-manylinux_2_17_aarch64"}},
		{"python_dateutil-2.8.2-py2.py3-none-any.whl", "python_dateutil", "2.8.2", "", []string{"py2-none-any", "py3-none-any"}},
		{"Django-4.2.7-py3-none-any.whl", "Django", "4.2.7", "", []string{"py3-none-any"}},
		{"numpy-1.26.2-cp312-cp312-musllinux_1_1_x86_64.whl", "numpy", "1.26.2", "", []string{"cp312-cp312-musllinux_1_1_x86_64"}},
		{"cryptography-41.0.5-cp37-abi3-manylinux_2_28_aarch64.whl", "cryptography", "41.0.5", "", []string{"cp37-abi3-manylinux_2_28_aarch64"}},
		{"tensorflow_cpu-2.15.0-20231115_1-cp311-cp311-manylinux_2_17_x86_64.whl", "tensorflow_cpu", "2.15.0", "20231115_1",
			[]string{"cp311-cp311-manylinux_2_17_x86_64"}},
		{"pywin32-306-cp311-cp311-win_amd64.whl", "pywin32", "306", "", []string{"cp311-cp311-win_amd64"}},
		{"grpcio-1.59.3-cp312-cp312-macosx_10_10_universal2.whl", "grpcio", "1.59.3", "", []string{"cp312-cp312-macosx_10_10_universal2"}},
		{"pip-23.3.1-py3-none-any.whl", "pip", "23.3.1", "", []string{"py3-none-any"}},
		{"foo-1!2.0rc1.post3.dev4-py3-none-any.whl", "foo", "1!2.0rc1.post3.dev4", "", []string{"py3-none-any"}},
		{"foo-v1.0-py3-none-any.whl", "foo", "v1.0", "", []string{"py3-none-any"}},
	}
	for _, tt := range tests {
		w, err := ParseWheelName(tt.in)
		if err != nil {
			t.Errorf("ParseWheelName(%q): %v", tt.in, err)
			continue
		}
		if w.Name != tt.name || w.Version != tt.version || w.Build != tt.build || !slices.Equal(tagStrings(w.Tags), tt.tags) {
			t.Errorf("ParseWheelName(%q) = %q %q %q %q, want %q %q %q %q", tt.in,
				w.Name, w.Version, w.Build, tagStrings(w.Tags), tt.name, tt.version, tt.build, tt.tags)
		}
		if got := w.String(); got != tt.in {
			t.Errorf("ParseWheelName(%q).String() = %q", tt.in, got)
		}
	}
}

func TestWheelNameProjectIsTheNormalizedName(t *testing.T) {
	w, err := ParseWheelName("Zope.Interface-6.0-py3-none-any.whl")
	if err != nil {
		t.Fatal(err)
	}
	if w.Project() != "zope-interface" {
		t.Errorf("Project() = %q", w.Project())
	}
}

func TestParseWheelNameRejectsMalformedNamesQuotingThem(t *testing.T) {
	parsetest.Refuses(t, "ParseWheelName", ParseWheelName, parsetest.Refusals{
		{"foo-1.0-py3-none-any.zip", ".whl extension"},
		{"foo-1.0-py3-none-any", ".whl extension"},
		{"foo-1.0-none-any.whl", "found 4"},
		{"foo-bar-1.0-1-py3-none-any.whl", "found 7"},
		{"foo-1.0-x-py3-none-any.whl", "must start with a digit"},
		{"foo-bar-1.0-py3-none-any.whl", `version "bar"`},
		{"foo-1.0-1-2-py3-none-any.whl", "found 7"},
		{"-1.0-py3-none-any.whl", "empty project name"},
		{"foo__bar-1.0-py3-none-any.whl", `"__"`},
		{"foo+bar-1.0-py3-none-any.whl", "not allowed"},
		{"café-1.0-py3-none-any.whl", "not allowed"},
		{"foo-1.0 -py3-none-any.whl", "not allowed"},
		{"foo--py3-none-any.whl", "empty version"},
		{"foo-1.0-py3-none-.whl", "empty tag"},
		{"foo-1.0-py3-none-linux x86_64.whl", "not a letter"},
		{"foo-1.0-99999999999999999999-py3-none-any.whl", "too large"},
		{"foo-1.0-1+x-py3-none-any.whl", "not allowed"},
		{".whl", "found 1"},
	})
}

func TestBuildNumberSortsAsTheSpecSays(t *testing.T) {
	// "Sort as an empty tuple if unspecified, else sort as a two-item tuple
	// with the first item being the initial digits as an int, and the second
	// item being the remainder of the tag as a str."
	builds := []string{"10", "2b", "", "2", "0", "2a", "9_z"}
	type key struct {
		n         int
		rest, tag string
	}
	var keys []key
	for _, b := range builds {
		f := "foo-1.0-py3-none-any.whl"
		if b != "" {
			f = "foo-1.0-" + b + "-py3-none-any.whl"
		}
		w, err := ParseWheelName(f)
		if err != nil {
			t.Fatal(err)
		}
		n, rest := w.BuildNumber()
		keys = append(keys, key{n, rest, b})
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].n != keys[j].n {
			return keys[i].n < keys[j].n
		}
		return keys[i].rest < keys[j].rest
	})
	var got []string
	for _, k := range keys {
		got = append(got, k.tag)
	}
	if want := []string{"", "0", "2", "2a", "2b", "9_z", "10"}; !slices.Equal(got, want) {
		t.Errorf("build order %q, want %q", got, want)
	}
}

// escapeWheelName is what a wheel builder does to a project name.
func escapeWheelName(n string) string {
	return strings.ReplaceAll(NormalizeName(n), "-", "_")
}

type wheelResult struct {
	OK        bool     `json:"ok"`
	ErrorKind string   `json:"error_kind"`
	Name      string   `json:"name"`
	Version   string   `json:"version"`
	Build     []string `json:"build"`
	Tags      []string `json:"tags"`
	GoVersion *string  `json:"go_version"`
}

// wheelDeviations are filenames packaging 21.3 accepts and ParseWheelName
// rejects on purpose; see TestParseWheelNameIsStricterThanPackaging.
var wheelDeviations = map[string]bool{
	"_foo-1.0-py3-none-any.whl":                      true,
	"foo.-1.0-py3-none-any.whl":                      true,
	"café-1.0-py3-none-any.whl":                      true,
	"foo-1.0-py3-none-linux x86_64.whl":              true,
	"foo-1.0-py3-none-any..linux.whl":                true,
	"foo-1.0-1+local-py3-none-any.whl":               true,
	"foo-1.0-123456789012345678901-py3-none-any.whl": true,
}

func TestParseWheelNameMatchesPackaging(t *testing.T) {
	names, versions := pypiSample(t)
	files := []string{
		"pyzmq-25.1.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
		"torch-2.1.0+cpu-cp311-cp311-linux_x86_64.whl",
		"foo-1.0-1-py3-none-any.whl",
		"foo-1.0-1abc-py3-none-any.whl",
		"foo-1.0-007_x-py3-none-any.whl",
		"Foo.Bar-1.0-PY3-NONE-ANY.whl",
		"foo-1.0-py2.py3-none-any.whl",
		"foo-1.0-cp36.cp37-abi3.none-any.linux_x86_64.whl",
		"foo-1.0-py3-none.whl",
		"foo-1.0-py3-none-any-x-y.whl",
		"foo__bar-1.0-py3-none-any.whl",
		"foo-bar-1.0-py3-none-any.whl",
		"foo-1.0-x1-py3-none-any.whl",
		"foo-1.0-py3-none-any.WHL",
		"foo-1.0.whl",
		"foo-notaversion-py3-none-any.whl",
		"foo-1.0.0.0.0-py3-none-any.whl",
		"foo-1.0_post1-py3-none-any.whl",
		"foo-1.0!-py3-none-any.whl",
		"foo-1.0+-py3-none-any.whl",
		"foo-01.02-py3-none-any.whl",
		"foo-V1.0-py3-none-any.whl",
	}
	for f := range wheelDeviations {
		files = append(files, f)
	}
	platforms := []string{"py3-none-any", "py2.py3-none-any", "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
		"cp38-abi3-musllinux_1_1_aarch64", "cp312-cp312-win_amd64"}
	for i, n := range names {
		build := ""
		if i%7 == 0 {
			build = "-1"
		}
		files = append(files,
			escapeWheelName(n)+"-"+versions[i]+build+"-"+platforms[i%len(platforms)]+".whl",
			n+"-"+versions[i]+"-py3-none-any.whl") // unescaped: dashes in the name break it
	}
	type wcase struct {
		Filename  string `json:"filename"`
		GoVersion string `json:"go_version,omitempty"`
	}
	cases := make([]wcase, len(files))
	parsed := make([]WheelName, len(files))
	errs := make([]error, len(files))
	for i, f := range files {
		parsed[i], errs[i] = ParseWheelName(f)
		cases[i] = wcase{Filename: f, GoVersion: parsed[i].Version}
	}
	results := referenceResults[wcase, wheelResult](t, "wheels", "cases", cases)
	agreed, invalidVersions, acceptedInvalid := 0, 0, 0
	for i, ref := range results {
		f, w, err := files[i], parsed[i], errs[i]
		switch {
		case !ref.OK && ref.ErrorKind == "InvalidVersion":
			// Versions are left to resolver/pep440: the parse may succeed.
			invalidVersions++
			if err == nil {
				acceptedInvalid++
			}
		case !ref.OK:
			if err == nil {
				t.Errorf("ParseWheelName(%q) = %+v, packaging rejects it", f, w)
			}
		case err != nil:
			if !wheelDeviations[f] {
				t.Errorf("ParseWheelName(%q): %v; packaging accepts it", f, err)
			}
		default:
			wantBuild := strings.Join(ref.Build, ":")
			gotBuild := ""
			if n, rest := w.BuildNumber(); n >= 0 {
				gotBuild = strconv.Itoa(n) + ":" + rest
			}
			got := []string{w.Project(), derefOr(ref.GoVersion, "invalid:"+w.Version), gotBuild, strings.Join(sortedTags(w.Tags), " ")}
			want := []string{ref.Name, ref.Version, wantBuild, strings.Join(ref.Tags, " ")}
			if !slices.Equal(got, want) {
				t.Errorf("ParseWheelName(%q) gives %q, packaging %q", f, got, want)
			} else {
				agreed++
			}
		}
	}
	t.Logf("%d filenames: %d parsed alike, %d with versions packaging rejects (%d of them left to pep440 here)",
		len(files), agreed, invalidVersions, acceptedInvalid)
}

func derefOr(p *string, alt string) string {
	if p == nil {
		return alt
	}
	return *p
}

func sortedTags(ts []tags.Tag) []string {
	s := tagStrings(ts)
	sort.Strings(s)
	return s
}

func TestParseWheelNameIsStricterThanPackaging(t *testing.T) {
	// Binary distribution format, "Escaping and Unicode": "In distribution
	// names, any run of -_. characters (HYPHEN-MINUS, LOW LINE and FULL STOP)
	// should be replaced with _ (LOW LINE) [...] equivalent to regular name
	// normalization followed by replacing - with _." A valid name neither
	// starts nor ends with a separator and is ASCII ("Names and
	// normalization": ^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$).
	//
	// Platform compatibility tags: "the platform tag is
	// sysconfig.get_platform() with all hyphens - and periods . replaced
	// with underscore _" and "Any potential spaces in any tag should be
	// replaced with _", so tags are letters, digits and "_".
	//
	// The build tag is "Optional build number. Must start with a digit."; a
	// number beyond an int is not a build number anyone made.
	//
	// packaging 21.3 accepts all of these; no installer could match their
	// tags or names against anything a real index serves.
	for f := range wheelDeviations {
		if _, err := ParseWheelName(f); err == nil {
			t.Errorf("ParseWheelName(%q) succeeds, want an error", f)
		}
	}
}
