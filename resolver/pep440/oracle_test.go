package pep440

import (
	"testing"

	"github.com/larder-build/larder/internal/pyref"
)

// oracleScript answers JSON-line requests with pip's vendored packaging
// (21.3 on this machine), corrected where larder deliberately follows the
// PEP instead (see deviations_test.go): each answer carries the corrected
// result, which larder must match exactly, and says which corrections
// changed it, so the test can count the deviations it exercised.
const oracleScript = `
import sys, json
from pip._vendor import packaging
from pip._vendor.packaging import version as V, specifiers as S
from pip._vendor.packaging.utils import canonicalize_version

def parse(s):
    try:
        return {"ok": True, "s": str(V.Version(s))}
    except V.InvalidVersion:
        return {"ok": False}
    except ValueError as e:  # e.g. integers past Python's digit limit
        return {"ok": False, "err": str(e)[:80]}

def components(v, width):
    # PEP 440 prefix matching: epoch, release (zero padded to width), then the
    # pre-, post- and development parts as one component each.
    c = [v.epoch] + list(v.release) + [0] * (width - len(v.release))
    if v.pre is not None: c.append(("pre",) + tuple(v.pre))
    if v.post is not None: c.append(("post", v.post))
    if v.dev is not None: c.append(("dev", v.dev))
    return c

def prefix_match(prospective, prefix):
    want = components(prefix, 0)
    got = components(V.Version(prospective.public), len(prefix.release))
    return got[:len(want)] == want

class PEPSpecifier(S.Specifier):
    # Deviation "prefix": wildcards and ~= match on the normalized version, and
    # the candidate's release is padded before it is shortened.
    def _compare_equal(self, prospective, spec):
        if spec.endswith(".*"):
            return prefix_match(prospective, V.Version(spec[:-2]))
        return super()._compare_equal(prospective, spec)
    def _compare_not_equal(self, prospective, spec):
        return not self._compare_equal(prospective, spec)
    def _compare_compatible(self, prospective, spec):
        sv = V.Version(spec)
        prefix = V.Version("%d!%s" % (sv.epoch, ".".join(str(x) for x in sv.release[:-1])))
        return self._compare_greater_than_equal(prospective, spec) and prefix_match(prospective, prefix)
    # Deviation "dedupe": ~=1.0 and ~=1.0.0 differ; === compares text.
    @property
    def _canonical_spec(self):
        op, ver = self._spec
        if op == "===" or ver.endswith(".*"):
            return op, ver
        if op == "~=":
            return op, str(V.Version(ver))
        return op, canonicalize_version(ver)

def pep_set(text):
    specs, seen = [], set()
    for c in text.split(","):
        if c.strip():
            sp = PEPSpecifier(c.strip())  # no LegacySpecifier: deviation "legacy"
            if sp not in seen:
                seen.add(sp)
                specs.append(sp)
    ss = S.SpecifierSet("")
    ss._specs = frozenset(specs)
    return ss

def indices(got, items):
    ids = {id(v): i for i, v in enumerate(items)}
    return sorted(ids[id(v)] for v in got)

def evaluate(ss, items, fallback):
    r = {
        "pre": bool(ss.prereleases),
        "cn": [ss.contains(v) for v in items],
        "ct": [ss.contains(v, prereleases=True) for v in items],
        "ft": indices(ss.filter(items, prereleases=True), items),
        "ff": indices(ss.filter(items, prereleases=False), items),
    }
    got = list(ss.filter(items))
    fell_back = False
    if fallback and not got and ss._specs:
        # Deviation "fallback": PEP 440 admits pre-releases when nothing else
        # satisfies a non-empty specifier too.
        got = [v for v in items if ss.contains(v, prereleases=True)]
        fell_back = bool(got)
    r["fn"] = indices(got, items)
    return r, fell_back

def spec(req):
    text = req["spec"]
    items = [V.Version(s) for s in req.get("vs") or []]
    out = {"dev": []}
    try:
        raw = S.SpecifierSet(text)
        raw_ok = all(isinstance(s, S.Specifier) for s in raw._specs)
    except S.InvalidSpecifier:
        raw, raw_ok = None, False
    try:
        ss = pep_set(text)
    except S.InvalidSpecifier:
        out["valid"] = False
        if raw is not None:
            out["dev"].append("legacy")
        return out
    out["valid"] = True
    out["str"] = str(ss)
    got, fell_back = evaluate(ss, items, True)
    out.update(got)
    if fell_back:
        out["dev"].append("fallback")
    if raw_ok:
        if str(raw) != out["str"]:
            out["dev"].append("dedupe")
        if any(s.operator == "~=" or s.version.endswith(".*") for s in ss._specs):
            if evaluate(raw, items, False) != evaluate(ss, items, False):
                out["dev"].append("prefix")
    return out

def raw(req):
    # The unpatched reference, for the deviation tests.
    items = [V.Version(s) for s in req.get("vs") or []]
    try:
        ss = S.SpecifierSet(req["spec"])
    except S.InvalidSpecifier:
        return {"valid": False}
    if not all(isinstance(s, S.Specifier) for s in ss._specs):
        return {"valid": True, "str": str(ss), "dev": ["legacy"]}
    return {"valid": True, "str": str(ss), "ct": [ss.contains(v, prereleases=True) for v in items],
            "fn": indices(ss.filter(items), items)}

def rank(req):
    vs = [V.Version(s) for s in req["vs"]]
    order = sorted(range(len(vs)), key=vs.__getitem__)
    ranks, r = [0] * len(vs), 0
    for n, i in enumerate(order):
        if n and vs[order[n - 1]] < vs[i]:
            r += 1
        ranks[i] = r
    return {"ranks": ranks}

print(json.dumps({"packaging": packaging.__version__}), flush=True)
kinds = {"parse": lambda r: parse(r["s"]), "spec": spec, "rank": rank, "raw": raw}
for line in sys.stdin:
    req = json.loads(line)
    sys.stdout.write(json.dumps(kinds[req["k"]](req)) + "\n")
sys.stdout.flush()
`

// oracleRequest is one question to the oracle.
type oracleRequest struct {
	K    string   `json:"k"`
	S    string   `json:"s"`
	Spec string   `json:"spec"`
	Vs   []string `json:"vs,omitempty"`
}

// oracleAnswer holds the fields of every kind of answer.
type oracleAnswer struct {
	// the greeting, first of all
	Packaging string `json:"packaging"`
	// parse
	OK  bool   `json:"ok"`
	S   string `json:"s"`
	Err string `json:"err"`
	// rank
	Ranks []int `json:"ranks"`
	// spec
	Valid bool     `json:"valid"`
	Str   string   `json:"str"`
	Pre   bool     `json:"pre"`
	CN    []bool   `json:"cn"`
	CT    []bool   `json:"ct"`
	FN    []int    `json:"fn"`
	FT    []int    `json:"ft"`
	FF    []int    `json:"ff"`
	Dev   []string `json:"dev"`
}

// askOracle sends every request to one python3 process and returns the
// answers in order. It skips the test when python3 is missing.
func askOracle(t testing.TB, reqs []oracleRequest) []oracleAnswer {
	t.Helper()
	answers, err := pyref.Ask[oracleRequest, oracleAnswer](t, reqs, oracleScript)
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	if len(answers) != 1+len(reqs) {
		t.Fatalf("the oracle gave %d answers to %d requests and its greeting", len(answers), len(reqs))
	}
	if v := answers[0].Packaging; v != "21.3" {
		t.Fatalf("the oracle is pip's vendored packaging %s, the deviations are recorded against 21.3", v)
	}
	return answers[1:]
}
