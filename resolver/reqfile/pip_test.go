package reqfile

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"testing"

	"github.com/larder-build/larder/internal/pyref"
	"github.com/larder-build/larder/resolver/dist"
)

// pipScript parses requirements files with pip's own parser, one JSON case
// per stdin line, one JSON result per stdout line. It runs offline: pip
// reads local files without the network.
const pipScript = `
import json, optparse, os, re, sys, warnings
warnings.simplefilter("ignore")
from pip._internal.req.req_file import parse_requirements
from pip._internal.network.session import PipSession
from pip._internal.req.constructors import install_req_from_parsed_requirement
from pip._internal.index.package_finder import PackageFinder
from pip._internal.index.collector import LinkCollector
from pip._internal.models.search_scope import SearchScope
from pip._internal.models.selection_prefs import SelectionPreferences
from pip._internal.models.format_control import FormatControl

from pip._internal.cli import cmdoptions
sys.setrecursionlimit(400)
session = PipSession()  # slow to build: one for every case
for line in sys.stdin:
    case = json.loads(line)
    os.chdir(case["cwd"])
    env = case.get("env") or {}
    os.environ.update(env)
    out = {}
    # pip's --use-feature default list is shared by every parser it builds.
    cmdoptions.use_new_feature.keywords["default"].clear()
    try:
        hosts = []
        session.add_trusted_host = lambda host, source=None, suppress_logging=False: hosts.append(host)
        finder = PackageFinder.create(
            LinkCollector(session, SearchScope(find_links=[], index_urls=[], no_index=False)),
            SelectionPreferences(allow_yanked=True, format_control=FormatControl(set(), set())),
        )
        options = optparse.Values({"require_hashes": False, "features_enabled": []})
        reqs = []
        for pr in parse_requirements(case["file"], session, finder=finder, options=options):
            ireq = install_req_from_parsed_requirement(pr)
            m = re.match(r"^-[rc] (.*) \(line (\d+)\)$", ireq.comes_from)
            reqs.append({
                "name": ireq.req.name if ireq.req else "",
                "specifier": str(ireq.req.specifier) if ireq.req else "",
                "marker": str(ireq.markers) if ireq.markers else "",
                "extras": sorted(ireq.extras),
                "url": ireq.link.url if ireq.link else "",
                "editable": bool(ireq.editable),
                "constraint": bool(ireq.constraint),
                "hashes": sorted(k + ":" + v for k, vs in ireq.hash_options.items() for v in vs),
                "file": os.path.normpath(m.group(1)),
                "line": int(m.group(2)),
            })
        out["reqs"] = reqs
        fc = finder.format_control
        out["options"] = {
            "index_urls": list(finder.index_urls),
            "no_index": finder.search_scope.no_index,
            "find_links": list(finder.find_links),
            "no_binary": sorted(fc.no_binary),
            "only_binary": sorted(fc.only_binary),
            "pre": finder._candidate_prefs.allow_all_prereleases,
            "prefer_binary": finder._candidate_prefs.prefer_binary,
            "require_hashes": bool(options.require_hashes),
            "trusted_hosts": hosts,
            "features": list(options.features_enabled),
        }
    except BaseException as e:
        out["error"] = type(e).__name__ + ": " + str(e)
    for k in env:
        os.environ.pop(k, None)
    print(json.dumps(out), flush=True)
`

// pipCase is one file for pip to parse: an absolute path, the working
// directory pip runs in, and extra environment variables.
type pipCase struct {
	File string            `json:"file"`
	Cwd  string            `json:"cwd"`
	Env  map[string]string `json:"env,omitempty"`
}

type pipResult struct {
	Reqs    []flatReq    `json:"reqs"`
	Options *flatOptions `json:"options"`
	Error   string       `json:"error"`
}

// flatReq is what the differential tests compare for each requirement.
type flatReq struct {
	Name       string   `json:"name"`
	Specifier  string   `json:"specifier"`
	Marker     string   `json:"marker"`
	Extras     []string `json:"extras"`
	URL        string   `json:"url"`
	Editable   bool     `json:"editable"`
	Constraint bool     `json:"constraint"`
	Hashes     []string `json:"hashes"`
	File       string   `json:"file"`
	Line       int      `json:"line"`
}

type flatOptions struct {
	IndexURLs     []string `json:"index_urls"`
	NoIndex       bool     `json:"no_index"`
	FindLinks     []string `json:"find_links"`
	NoBinary      []string `json:"no_binary"`
	OnlyBinary    []string `json:"only_binary"`
	Pre           bool     `json:"pre"`
	PreferBinary  bool     `json:"prefer_binary"`
	RequireHashes bool     `json:"require_hashes"`
	TrustedHosts  []string `json:"trusted_hosts"`
	Features      []string `json:"features"`
}

// runPip parses every case with pip in one python3 process.
func runPip(t *testing.T, cases []pipCase) []pipResult {
	t.Helper()
	results, err := pyref.Ask[pipCase, pipResult](t, cases, pipScript)
	if err != nil {
		t.Fatalf("running pip's parser: %v", err)
	}
	if len(results) != len(cases) {
		t.Fatalf("pip answered %d of %d cases", len(results), len(cases))
	}
	return results
}

// flatten puts a File in pip's order-insensitive-to-kind shape: pip yields
// requirements and constraints interleaved, so each kind keeps its order.
func flatten(f *File) []flatReq {
	var out []flatReq
	for _, list := range [][]Requirement{f.Requirements, f.Constraints} {
		for _, r := range list {
			fr := flatReq{
				Extras:     normalizeAll(r.Extras),
				URL:        r.URL,
				Editable:   r.Editable,
				Constraint: r.Constraint,
				Hashes:     append([]string{}, r.Hashes...),
				File:       r.Source.File,
				Line:       r.Source.Line,
			}
			sort.Strings(fr.Hashes)
			if r.Req != nil {
				fr.Name = r.Req.Name
				fr.Specifier = r.Req.Specifiers.String()
			}
			if r.Marker != nil {
				fr.Marker = r.Marker.String()
			}
			out = append(out, fr)
		}
	}
	return out
}

func flattenOptions(o Options) flatOptions {
	f := flatOptions{
		NoIndex:       o.NoIndex,
		FindLinks:     append([]string{}, o.FindLinks...),
		NoBinary:      append([]string{}, o.NoBinary...),
		OnlyBinary:    append([]string{}, o.OnlyBinary...),
		Pre:           o.Pre,
		PreferBinary:  o.PreferBinary,
		RequireHashes: o.RequireHashes,
		TrustedHosts:  append([]string{}, o.TrustedHosts...),
		Features:      append([]string{}, o.Features...),
		IndexURLs:     []string{},
	}
	if o.IndexURL != "" {
		f.IndexURLs = append(f.IndexURLs, o.IndexURL)
	}
	f.IndexURLs = append(f.IndexURLs, o.ExtraIndexURLs...)
	return f
}

// pipOrder sorts pip's list the way flatten orders ours.
func pipOrder(reqs []flatReq) []flatReq {
	out := make([]flatReq, 0, len(reqs))
	for _, constraint := range []bool{false, true} {
		for _, r := range reqs {
			if r.Constraint == constraint {
				r.Extras = normalizeAll(r.Extras)
				if r.Hashes == nil {
					r.Hashes = []string{}
				}
				out = append(out, r)
			}
		}
	}
	return out
}

// pipDistinct drops what Parse keeps once and pip repeats: the lines of a
// file included again in the same mode, and a requirement line written
// again word for word (unless it changes the binary sets).
func pipDistinct(t *testing.T, reqs []flatReq) []flatReq {
	t.Helper()
	type place struct {
		file       string
		line       int
		constraint bool
	}
	type text struct {
		text       string
		constraint bool
	}
	texts := map[string]map[int]string{}
	logical := func(file string, line int) string {
		if texts[file] == nil {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			content, err := decodeContent(data)
			if err != nil {
				t.Fatal(err)
			}
			texts[file] = map[int]string{}
			for _, ll := range logicalLines(splitLines(content)) {
				texts[file][ll.first] = ll.text
			}
		}
		return texts[file][line]
	}
	places, lines := map[place]bool{}, map[text]bool{}
	var out []flatReq
	for _, r := range reqs {
		pl := place{r.File, r.Line, r.Constraint}
		if places[pl] {
			continue
		}
		places[pl] = true
		raw := logical(r.File, r.Line)
		_, optText := splitArgsOptions(raw)
		binary := false
		if words, err := splitOptionWords(optText); err == nil {
			if lo, err := parseLineOptions(words); err == nil {
				binary = len(lo.binaryOps) > 0
			}
		}
		tx := text{raw, r.Constraint}
		if !binary && lines[tx] {
			continue
		}
		lines[tx] = true
		out = append(out, r)
	}
	return out
}

func normalizeAll(names []string) []string {
	out := []string{}
	for _, n := range names {
		if n = dist.NormalizeName(n); !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// comparePip checks that ours and pip's agree on one case.
func comparePip(t *testing.T, name string, c pipCase, pip pipResult, opts ...Option) {
	t.Helper()
	opts = append([]Option{WithWorkDir(c.Cwd), WithEnv(c.Env)}, opts...)
	f, err := ParseFile(c.File, opts...)
	if pip.Error != "" || err != nil {
		if (pip.Error != "") != (err != nil) {
			t.Errorf("%s: pip error %q, ours %v", name, pip.Error, err)
		} else {
			t.Logf("%s: both fail:\n  pip:  %s\n  ours: %v", name, pip.Error, err)
		}
		return
	}
	ours, theirs := flatten(f), pipDistinct(t, pipOrder(pip.Reqs))
	if len(ours) != len(theirs) {
		t.Errorf("%s: %d requirements, pip has %d", name, len(ours), len(theirs))
	}
	for i, shown := 0, 0; i < len(ours) && i < len(theirs) && shown < 5; i++ {
		if !reflect.DeepEqual(ours[i], theirs[i]) {
			shown++
			t.Errorf("%s: requirement %d differs:\n  ours %+v\n  pip  %+v", name, i, ours[i], theirs[i])
		}
	}
	if o := flattenOptions(f.Options); pip.Options != nil && !reflect.DeepEqual(o, *pip.Options) {
		t.Errorf("%s: options differ:\n  ours %+v\n  pip  %+v", name, o, *pip.Options)
	}
}

// copyTree copies the files under src into dst, keeping relative paths.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return writeFile(filepath.Join(dst, rel), string(data))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// writeTree writes files, content by path relative to dir, under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := writeFile(filepath.Join(dir, name), content); err != nil {
			t.Fatal(err)
		}
	}
}

func writeFile(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), 0o644)
}
