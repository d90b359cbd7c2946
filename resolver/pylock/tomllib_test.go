package pylock

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/resolver/tomldoc"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	toml "github.com/pelletier/go-toml/v2"
)

// tomllibScript reads one JSON-encoded TOML document per line and answers
// one line each: the document as parsed by Python's tomllib, with every
// non-string scalar tagged by its TOML type, or {"error": ...}.
const tomllibScript = `
import datetime, json, math, sys, tomllib

def tag(v):
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return {"$int": str(v)}
    if isinstance(v, float):
        return {"$float": "nan" if math.isnan(v) else repr(v)}
    if isinstance(v, datetime.datetime):
        return {"$datetime" if v.tzinfo else "$local-datetime": v.isoformat()}
    if isinstance(v, datetime.date):
        return {"$date": v.isoformat()}
    if isinstance(v, datetime.time):
        return {"$time": v.isoformat()}
    if isinstance(v, list):
        return [tag(e) for e in v]
    if isinstance(v, dict):
        return {k: tag(e) for k, e in v.items()}
    return v

for line in sys.stdin:
    try:
        out = tag(tomllib.loads(json.loads(line)))
    except Exception as e:
        out = {"error": repr(e)}
    print(json.dumps(out), flush=True)
`

// TestEncodedLocksParseIdenticallyWithPythonTomllib checks our writer against
// an independent TOML 1.0 parser: every document Encode produces must parse
// with Python's tomllib to the same tree that go-toml reads.
func TestEncodedLocksParseIdenticallyWithPythonTomllib(t *testing.T) {
	testenv.Slow(t, "runs python3's tomllib")
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not found")
	}
	if err := exec.Command("python3", "-c", "import tomllib").Run(); err != nil {
		t.Skip("python3 has no tomllib (needs 3.11)")
	}
	tool, err := Decode(strings.NewReader(toolDoc))
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string][]byte{
		"fixture":     encode(t, loadFixture(t)),
		"tool tables": encode(t, tool),
		"generated":   encode(t, generatedLock(300)),
	}

	var in bytes.Buffer
	var names []string
	for name, doc := range docs {
		line, _ := json.Marshal(string(doc))
		in.Write(append(line, '\n'))
		names = append(names, name)
	}
	cmd := exec.Command("python3", "-c", tomllibScript)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 64<<20)
	for _, name := range names {
		if !sc.Scan() {
			t.Fatalf("python3 gave no answer for %s", name)
		}
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		var py any
		if err := dec.Decode(&py); err != nil {
			t.Fatal(err)
		}
		if m, ok := py.(map[string]any); ok && m["error"] != nil {
			t.Errorf("%s: tomllib rejects our output: %v\n%s", name, m["error"], docs[name])
			continue
		}
		var goDoc map[string]any
		if err := toml.Unmarshal(docs[name], &goDoc); err != nil {
			t.Fatal(err)
		}
		if diff := compareTagged(tagged(goDoc), py, ""); diff != "" {
			t.Errorf("%s: tomllib and go-toml disagree at %s", name, diff)
		}
	}
}

// tagged converts a go-toml tree to the form the Python script prints.
func tagged(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = tagged(e)
		}
		return out
	case []any, []map[string]any:
		arr, _ := tomldoc.AsArray(x)
		out := make([]any, len(arr))
		for i, e := range arr {
			out[i] = tagged(e)
		}
		return out
	case int64:
		return map[string]any{"$int": strconv.FormatInt(x, 10)}
	case float64:
		return map[string]any{"$float": strconv.FormatFloat(x, 'g', -1, 64)}
	case time.Time:
		return map[string]any{"$datetime": x.Format("2006-01-02T15:04:05") + micros(x.Nanosecond()) + x.Format("-07:00")}
	case toml.LocalDateTime:
		return map[string]any{"$local-datetime": x.LocalDate.String() + "T" + clock(x.LocalTime)}
	case toml.LocalDate:
		return map[string]any{"$date": x.String()}
	case toml.LocalTime:
		return map[string]any{"$time": clock(x)}
	}
	return v
}

// micros mimics Python's isoformat: microseconds only when not zero.
func micros(ns int) string {
	if ns/1000 == 0 {
		return ""
	}
	return fmt.Sprintf(".%06d", ns/1000)
}

func clock(t toml.LocalTime) string {
	return fmt.Sprintf("%02d:%02d:%02d", t.Hour, t.Minute, t.Second) + micros(t.Nanosecond)
}

// compareTagged returns where a and b differ, or "". Floats compare by value
// because Go and Python spell the same float differently (1e+06, 1000000.0).
func compareTagged(a, b any, path string) string {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: %v vs %v", path, a, b)
		}
		if f, ok := x["$float"].(string); ok {
			g, _ := y["$float"].(string)
			if sameFloat(f, g) {
				return ""
			}
			return fmt.Sprintf("%s: float %s vs %s", path, f, g)
		}
		if len(x) != len(y) {
			return fmt.Sprintf("%s: %d keys vs %d", path, len(x), len(y))
		}
		for k, e := range x {
			if d := compareTagged(e, y[k], path+"."+k); d != "" {
				return d
			}
		}
		return ""
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return fmt.Sprintf("%s: %v vs %v", path, a, b)
		}
		for i := range x {
			if d := compareTagged(x[i], y[i], fmt.Sprintf("%s[%d]", path, i)); d != "" {
				return d
			}
		}
		return ""
	}
	if a != b {
		return fmt.Sprintf("%s: %#v vs %#v", path, a, b)
	}
	return ""
}

func sameFloat(a, b string) bool {
	fa, err1 := strconv.ParseFloat(a, 64)
	fb, err2 := strconv.ParseFloat(b, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	if math.IsNaN(fa) || math.IsNaN(fb) {
		return math.IsNaN(fa) && math.IsNaN(fb)
	}
	return fa == fb && math.Signbit(fa) == math.Signbit(fb)
}

// generatedLock builds a lock of n packages with the shapes a resolver
// writes: several platform wheels, markers, dependencies and larder tables.
func generatedLock(n int) *Lock {
	l := &Lock{
		LockVersion:    "1.0",
		CreatedBy:      "larder",
		RequiresPython: ">=3.11",
		Environments:   []string{"sys_platform == 'linux' and platform_machine == 'x86_64'", "sys_platform == 'linux' and platform_machine == 'aarch64'"},
		Tool:           Tool{Larder: &LarderTool{Targets: []string{"linux/amd64:3.11:glibc2.36", "linux/arm64:3.12:glibc2.36"}}},
	}
	up := time.Date(2024, 1, 2, 3, 4, 5, 678000000, time.UTC)
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("pkg-%03d", i)
		p := Package{
			Name:    name,
			Version: fmt.Sprintf("%d.%d.%d", i%7, i%13, i),
			Index:   "https://pypi.org/simple",
			Sdist: &File{URL: "https://files.example.org/" + name + ".tar.gz", UploadTime: up, Size: int64(1000 + i),
				Hashes: Hashes{"sha256": fmt.Sprintf("%064x", i)}},
			Tool: Tool{Larder: &LarderTool{Targets: []string{"linux/amd64:3.11:glibc2.36"}, Via: [][]string{{"root", name}}}},
		}
		if i%3 == 0 {
			p.Marker = `python_version >= "3.12" and platform_machine == "x86_64"`
		}
		if i > 0 {
			p.Dependencies = []Dependency{{Name: fmt.Sprintf("pkg-%03d", i-1)}}
		}
		for _, plat := range []string{"manylinux_2_17_x86_64", "manylinux_2_17_aarch64", "musllinux_1_2_x86_64"} {
			whl := fmt.Sprintf("%s-1.0-cp311-cp311-%s.whl", strings.ReplaceAll(name, "-", "_"), plat)
			p.Wheels = append(p.Wheels, File{Name: whl, URL: "https://files.example.org/" + whl, UploadTime: up,
				Size: int64(2000 + i), Hashes: Hashes{"sha256": fmt.Sprintf("%064x", i*31+len(plat))}})
		}
		l.Packages = append(l.Packages, p)
	}
	return l
}
