package uvlock

import (
	"slices"
	"strings"
	"testing"
)

// TestSelectTakesWhatUVSyncInstallsFromRealLocks runs Select on locks uv
// wrote (testdata/uvlock/wild, provenance in its README): the names each
// choice reaches are what uv sync installs for it, markers left for the
// target.
func TestSelectTakesWhatUVSyncInstallsFromRealLocks(t *testing.T) {
	for _, tc := range []struct {
		name         string
		file         string
		groups       []string
		wantGroups   []string
		wantRoots    []string
		wantPackages []string
	}{
		{
			name:         "a lock from before revision reads as revision 0 and selects its project's dependencies",
			file:         "built-by-uv-no-revision.uv.lock",
			wantGroups:   []string{"dev"},
			wantRoots:    []string{"anyio"},
			wantPackages: []string{"anyio", "idna", "sniffio"},
		},
		{
			name:         "a group of that lock adds its closure",
			file:         "built-by-uv-no-revision.uv.lock",
			groups:       []string{"dev"},
			wantGroups:   []string{"dev"},
			wantRoots:    []string{"anyio", "pytest"},
			wantPackages: []string{"anyio", "colorama", "idna", "iniconfig", "packaging", "pluggy", "pytest", "sniffio"},
		},
		{
			name:       "a non-project workspace root's groups are choices, installing nothing unless chosen",
			file:       "non-project-root-groups.uv.lock",
			wantGroups: []string{"dev"},
		},
		{
			name:         "a non-project workspace root's chosen group comes from [manifest.dependency-groups]",
			file:         "non-project-root-groups.uv.lock",
			groups:       []string{"dev"},
			wantGroups:   []string{"dev"},
			wantRoots:    []string{"iniconfig"},
			wantPackages: []string{"iniconfig"},
		},
		{
			name:         "a project whose groups require itself is still the member, its dependencies installed",
			file:         "group-self.uv.lock",
			wantGroups:   []string{"bar", "foo"},
			wantRoots:    []string{"iniconfig"},
			wantPackages: []string{"iniconfig"},
		},
		{
			name:         "a group requiring the project itself adds the group's other requirements",
			file:         "group-self.uv.lock",
			groups:       []string{"foo"},
			wantGroups:   []string{"bar", "foo"},
			wantRoots:    []string{"iniconfig", "typing-extensions"},
			wantPackages: []string{"iniconfig", "typing-extensions"},
		},
		{
			name:         "a group requiring the project with an extra adds that extra's requirements",
			file:         "group-self.uv.lock",
			groups:       []string{"bar"},
			wantGroups:   []string{"bar", "foo"},
			wantRoots:    []string{"iniconfig", "idna"},
			wantPackages: []string{"idna", "iniconfig"},
		},
		{
			name:         "a dependency from a URL archive whose sdist has only a hash is read and reached",
			file:         "url-source-sdist-hash.uv.lock",
			wantRoots:    []string{"root"},
			wantPackages: []string{"anyio", "idna", "root", "sniffio"},
		},
		{
			name:         "two URL entries of one version are told apart by source, each under its fork",
			file:         "url-sources-by-marker.uv.lock",
			wantRoots:    []string{"iniconfig", "iniconfig"},
			wantPackages: []string{"iniconfig", "iniconfig"},
		},
		{
			name:         "an override scoped to one package's dependencies is read",
			file:         "scoped-overrides.uv.lock",
			wantRoots:    []string{"anyio"},
			wantPackages: []string{"anyio", "idna", "sniffio"},
		},
		{
			name:         "a script's lock installs its [manifest] requirements",
			file:         "script.py.lock",
			wantRoots:    []string{"anyio"},
			wantPackages: []string{"anyio", "idna", "sniffio"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Load("../../testdata/uvlock/wild/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if _, groups := l.Choices(); !slices.Equal(groups, tc.wantGroups) {
				t.Errorf("groups = %q, want %q", groups, tc.wantGroups)
			}
			sel, err := l.Select(nil, tc.groups)
			if err != nil {
				t.Fatal(err)
			}
			var roots, packages []string
			for _, r := range sel.Roots {
				roots = append(roots, r.Package.Name)
			}
			for _, p := range sel.Packages {
				packages = append(packages, p.Package.Name)
			}
			if !slices.Equal(roots, tc.wantRoots) || !slices.Equal(packages, tc.wantPackages) {
				t.Errorf("roots %q, packages %q\nwant roots %q, packages %q", roots, packages, tc.wantRoots, tc.wantPackages)
			}
		})
	}
}

// TestSelectRefusesALockWithNothingToInstallFrom keeps the error for a
// lock with no member and no [manifest] requirements: nothing says what
// to install.
func TestSelectRefusesALockWithNothingToInstallFrom(t *testing.T) {
	l, err := Decode(strings.NewReader("version = 1\n\n[[package]]\nname = \"idna\"\nversion = \"3.6\"\nsource = { registry = \"https://pypi.org/simple\" }\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Select(nil, nil); err == nil || !strings.Contains(err.Error(), "no workspace member") {
		t.Errorf("Select = %v, want an error saying there is no workspace member", err)
	}
}

// TestALockFromUVBefore03IsNamedAsSuch: uv 0.2 wrote version 1 locks
// with [[distribution]] tables; reading one must say so and what to do,
// not that the lock has no workspace member.
func TestALockFromUVBefore03IsNamedAsSuch(t *testing.T) {
	const old = "version = 1\nrequires-python = \">=3.12\"\n\n[[distribution]]\nname = \"idna\"\nversion = \"3.7\"\nsource = { registry = \"https://pypi.org/simple\" }\n"
	_, err := Decode(strings.NewReader(old))
	if err == nil || !strings.Contains(err.Error(), "uv before 0.3") || !strings.Contains(err.Error(), "uv lock") {
		t.Errorf("Decode = %v, want an error naming a lock from uv before 0.3 and saying to run uv lock", err)
	}
}

// TestLoadReadsWhatUVWritesForDirectSources checks the parts of real locks
// (testdata/uvlock/wild) that Select does not show: the hash-only sdist of
// a URL source and [manifest] overrides scoped to a package.
func TestLoadReadsWhatUVWritesForDirectSources(t *testing.T) {
	for _, tc := range []struct {
		name  string
		file  string
		check func(t *testing.T, l *Lock)
	}{
		{
			name: "a URL source's sdist is its hash alone",
			file: "url-source-sdist-hash.uv.lock",
			check: func(t *testing.T, l *Lock) {
				p := l.Packages[3]
				if p.Name != "root" || p.Source.Kind != SourceURL || p.Source.Subdirectory != "packages/root" {
					t.Fatalf("package[3] = %s %+v", p.Name, p.Source)
				}
				if p.Sdist == nil || p.Sdist.Hash != "sha256:24b55efee28d08ad3cdc58903e359e820601baa6a4a4b3424311541ebcfb09d3" || p.Sdist.URL != "" {
					t.Errorf("sdist = %+v, want the hash alone", p.Sdist)
				}
			},
		},
		{
			name: "an archive inside a git repository is a git source with a path, its sdist the hash alone",
			file: "git-archive.uv.lock",
			check: func(t *testing.T, l *Lock) {
				p := l.Packages[0]
				g, err := p.Source.Git()
				if err != nil {
					t.Fatal(err)
				}
				if g.URL != "https://github.com/astral-sh/archive-in-git-test" || g.Path != "archives/iniconfig-2.0.0.tar.gz" || g.Commit != "bb7ce6abf9f90544767701de5b7b0c7802dc642b" {
					t.Errorf("git source = %+v", g)
				}
				if p.Sdist == nil || p.Sdist.Hash == "" {
					t.Errorf("sdist = %+v", p.Sdist)
				}
			},
		},
		{
			name: "scoped overrides are kept apart from global ones",
			file: "scoped-overrides.uv.lock",
			check: func(t *testing.T, l *Lock) {
				var global []string
				for _, r := range l.Manifest.Overrides {
					global = append(global, r.PEP508())
				}
				if !slices.Equal(global, []string{"idna==3.1", "sniffio"}) {
					t.Errorf("overrides = %q", global)
				}
				if len(l.Manifest.ScopedOverrides) != 1 {
					t.Fatalf("scoped overrides = %+v", l.Manifest.ScopedOverrides)
				}
				o := l.Manifest.ScopedOverrides[0]
				if o.Name != "anyio" || o.Version != "3.7.0" || len(o.Dependencies) != 1 || o.Dependencies[0].PEP508() != "idna==3.2" {
					t.Errorf("scoped override = %+v", o)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Load("../../testdata/uvlock/wild/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, l)
		})
	}
}

// TestLoadRefusesAnSdistWithNoLocationFromAnIndex keeps the check that an
// index package's sdist says where it is: only a URL or path source's
// sdist may be its hash alone.
func TestLoadRefusesAnSdistWithNoLocationFromAnIndex(t *testing.T) {
	const lock = "version = 1\n\n[[package]]\nname = \"idna\"\nversion = \"3.6\"\nsource = { registry = \"https://pypi.org/simple\" }\nsdist = { hash = \"sha256:9ecdbbd083b06798ae1e86adcbfe8ab1479cf864e4ee30fe4e46a003d12491ca\" }\n"
	_, err := Decode(strings.NewReader(lock))
	if err == nil || !strings.Contains(err.Error(), "package[0].sdist: missing url, path or filename") {
		t.Errorf("Decode = %v, want an error naming package[0].sdist", err)
	}
}
