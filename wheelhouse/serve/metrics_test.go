package serve

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
)

// Prometheus text exposition format 0.0.4, as the reference parser
// (prometheus/common/expfmt) reads it: metric and label names, label
// values with \\, \" and \n escapes, and a float value.
var (
	metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelName  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// promSample is one sample line.
type promSample struct {
	name   string
	labels map[string]string
	value  float64
}

// parsePrometheus parses the text format strictly: every sample belongs to
// a family declared by # HELP and # TYPE before it, families are not
// split, a series appears once, counters are not negative, and the text
// ends with a newline.
func parsePrometheus(text string) (map[string]string, []promSample, error) {
	if !strings.HasSuffix(text, "\n") {
		return nil, nil, fmt.Errorf("the text does not end with a newline")
	}
	types := map[string]string{}
	helps := map[string]bool{}
	done := map[string]bool{} // families whose samples ended
	seen := map[string]bool{}
	var samples []promSample
	current := ""
	lastLe, lastBucket := math.Inf(-1), 0.0 // the current histogram's last bucket
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		n := i + 1
		switch {
		case line == "":
			return nil, nil, fmt.Errorf("line %d: empty", n)
		case strings.HasPrefix(line, "# HELP "), strings.HasPrefix(line, "# TYPE "):
			f := strings.SplitN(line[7:], " ", 2)
			if len(f) != 2 || !metricName.MatchString(f[0]) || f[1] == "" {
				return nil, nil, fmt.Errorf("line %d: malformed %q", n, line)
			}
			if current != "" && current != f[0] {
				done[current] = true
			}
			if done[f[0]] {
				return nil, nil, fmt.Errorf("line %d: family %s split", n, f[0])
			}
			if current != f[0] {
				lastLe, lastBucket = math.Inf(-1), 0
			}
			current = f[0]
			if strings.HasPrefix(line, "# HELP ") {
				if helps[f[0]] {
					return nil, nil, fmt.Errorf("line %d: second HELP for %s", n, f[0])
				}
				helps[f[0]] = true
				continue
			}
			if _, dup := types[f[0]]; dup {
				return nil, nil, fmt.Errorf("line %d: second TYPE for %s", n, f[0])
			}
			switch f[1] {
			case "counter", "gauge", "histogram", "summary", "untyped":
			default:
				return nil, nil, fmt.Errorf("line %d: unknown type %q", n, f[1])
			}
			types[f[0]] = f[1]
		case strings.HasPrefix(line, "#"):
			return nil, nil, fmt.Errorf("line %d: a comment the server does not write: %q", n, line)
		default:
			s, key, err := parseSample(line)
			if err != nil {
				return nil, nil, fmt.Errorf("line %d: %v", n, err)
			}
			family := s.name
			if types[current] == "histogram" {
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if s.name == current+suffix {
						family = current
					}
				}
				if s.name == current+"_bucket" {
					le, ok := s.labels["le"]
					if !ok {
						return nil, nil, fmt.Errorf("line %d: bucket without le", n)
					}
					bound, err := strconv.ParseFloat(le, 64)
					if err != nil || bound <= lastLe || s.value < lastBucket {
						return nil, nil, fmt.Errorf("line %d: buckets not increasing (le %s, %v)", n, le, s.value)
					}
					lastLe, lastBucket = bound, s.value
				}
				if s.name == current+"_count" && (!math.IsInf(lastLe, 1) || s.value != lastBucket) {
					return nil, nil, fmt.Errorf("line %d: count %v is not the +Inf bucket's %v", n, s.value, lastBucket)
				}
			}
			if family != current || types[family] == "" {
				return nil, nil, fmt.Errorf("line %d: sample of %s outside its family (TYPE first)", n, s.name)
			}
			if seen[key] {
				return nil, nil, fmt.Errorf("line %d: series %s twice", n, key)
			}
			seen[key] = true
			if (types[family] == "counter" || types[family] == "histogram") && (s.value < 0 || math.IsNaN(s.value)) {
				return nil, nil, fmt.Errorf("line %d: counter %s is %v", n, s.name, s.value)
			}
			samples = append(samples, s)
		}
	}
	return types, samples, nil
}

func parseSample(line string) (promSample, string, error) {
	s := promSample{labels: map[string]string{}}
	i := strings.IndexAny(line, "{ ")
	if i < 0 {
		return s, "", fmt.Errorf("no value in %q", line)
	}
	s.name = line[:i]
	if !metricName.MatchString(s.name) {
		return s, "", fmt.Errorf("metric name %q", s.name)
	}
	rest := line[i:]
	key := s.name
	if strings.HasPrefix(rest, "{") {
		rest = rest[1:]
		var names []string
		for !strings.HasPrefix(rest, "}") {
			eq := strings.Index(rest, `="`)
			if eq < 0 || !labelName.MatchString(rest[:eq]) {
				return s, "", fmt.Errorf("label in %q", line)
			}
			name := rest[:eq]
			rest = rest[eq+2:]
			var v strings.Builder
			for {
				if rest == "" {
					return s, "", fmt.Errorf("unterminated label value in %q", line)
				}
				c := rest[0]
				rest = rest[1:]
				if c == '"' {
					break
				}
				if c == '\\' {
					if rest == "" || !strings.ContainsRune(`\"n`, rune(rest[0])) {
						return s, "", fmt.Errorf("bad escape in %q", line)
					}
					c, rest = rest[0], rest[1:]
					if c == 'n' {
						c = '\n'
					}
				}
				v.WriteByte(c)
			}
			if _, dup := s.labels[name]; dup {
				return s, "", fmt.Errorf("label %s twice in %q", name, line)
			}
			s.labels[name] = v.String()
			names = append(names, name+"="+v.String())
			if strings.HasPrefix(rest, ",") {
				rest = rest[1:]
			} else if !strings.HasPrefix(rest, "}") {
				return s, "", fmt.Errorf("labels in %q", line)
			}
		}
		rest = rest[1:]
		key += "{" + strings.Join(names, ",") + "}"
	}
	if !strings.HasPrefix(rest, " ") {
		return s, "", fmt.Errorf("no space before the value in %q", line)
	}
	f := strings.Fields(rest)
	if len(f) < 1 || len(f) > 2 {
		return s, "", fmt.Errorf("value in %q", line)
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return s, "", fmt.Errorf("value in %q: %v", line, err)
	}
	s.value = v
	return s, key, nil
}

func TestPrometheusParserRefusesMalformedText(t *testing.T) {
	ok := "# HELP a_total A.\n# TYPE a_total counter\na_total{k=\"v\\\"\"} 1\n"
	if _, _, err := parsePrometheus(ok); err != nil {
		t.Fatalf("valid text refused: %v", err)
	}
	for _, bad := range []string{
		"# HELP a_total A.\n# TYPE a_total counter\na_total 1", // no final newline
		"a_total 1\n", // no TYPE
		"# HELP a_total A.\n# TYPE a_total counter\na_total{k=\"v} 1\n",                                        // unterminated
		"# HELP a_total A.\n# TYPE a_total counter\na_total -1\n",                                              // negative counter
		"# HELP a_total A.\n# TYPE a_total counter\na_total 1\na_total 2\n",                                    // series twice
		"# HELP a_total A.\n# TYPE a_total counter\na_total{1k=\"v\"} 1\n",                                     // label name
		"# HELP a A.\n# TYPE a gauge\n# HELP b B.\n# TYPE b gauge\nb 1\n# TYPE a gauge\n",                      // split
		"# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n", // decreasing
		"# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n", // count
	} {
		if _, _, err := parsePrometheus(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// scrape reads /metrics and returns each series' value by "name{k=v,...}".
func scrape(t *testing.T, base string, auth ...string) map[string]float64 {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(auth) == 2 {
		req.SetBasicAuth(auth[0], auth[1])
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("/metrics: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	_, samples, err := parsePrometheus(string(body))
	if err != nil {
		t.Fatalf("/metrics is not valid Prometheus text: %v\n%s", err, body)
	}
	out := map[string]float64{}
	for _, s := range samples {
		key := s.name
		if len(s.labels) > 0 {
			var kv []string
			for k, v := range s.labels {
				kv = append(kv, k+"="+v)
			}
			key += "{" + strings.Join(kv, ",") + "}"
		}
		out[key] = s.value
	}
	return out
}

// TestMetricsCountWhatAPipInstallDid runs a real pip install of a baked
// project whose bumped version exists only upstream, and checks that
// /metrics, a valid Prometheus text, counts the pages, the baked file
// served from the wheelhouse, the file fetched through, and the upstream's
// requests.
func TestMetricsCountWhatAPipInstallDid(t *testing.T) {
	p := newPip(t, "python3")
	own := pypitest.Start(t, bumpIndex(false))
	st := bake(t, own, t.TempDir(), filesOf(t, own, nil, "bumpy", "helper"), nil)
	up := pypitest.Start(t, bumpIndex(true))
	_, base := startServer(t, st, WithUpstream(up.URL()), WithCacheDir(t.TempDir()))
	before := scrape(t, base)
	for k, v := range before {
		if strings.HasSuffix(strings.SplitN(k, "{", 2)[0], "_total") && v != 0 && !strings.HasPrefix(k, "larder_requests_total{kind=metrics") {
			t.Errorf("%s = %v before any request", k, v)
		}
	}
	target, out, err := p.install(t, base+"/simple/", "bumpy==1.1")
	if err != nil {
		t.Fatalf("pip install: %v\n%s", err, out)
	}
	if got := installed(t, target); len(got) != 2 {
		t.Fatalf("installed %v", got)
	}
	after := scrape(t, base)
	for _, c := range []struct {
		series string
		min    float64
	}{
		{"larder_requests_total{kind=project_page}", 2}, // bumpy, helper
		{"larder_requests_total{kind=file}", 2},
		{"larder_files_served_total{source=baked}", 1}, // helper
		{"larder_files_fetched_through_total", 1},      // bumpy 1.1
		{"larder_files_cached_total", 1},
		{"larder_fetched_through_bytes_total", 100},
		{"larder_upstream_requests_total", 2},
		{"larder_upstream_latency_seconds_count", 2},
		{"larder_upstream_latency_seconds_bucket{le=+Inf}", 2},
		{"larder_file_bytes_served_total{source=baked}", 100},
	} {
		if got := after[c.series] - before[c.series]; got < c.min {
			t.Errorf("%s moved by %v during the install, want at least %v", c.series, got, c.min)
		}
	}
	// Gauges: the upstream answered, so its state is ok.
	for _, series := range []string{"larder_upstream_up", "larder_upstream_state{state=ok}"} {
		if after[series] != 1 {
			t.Errorf("%s = %v after the upstream answered, want 1", series, after[series])
		}
	}
	if got := after["larder_upstream_failures_total"]; got != 0 {
		t.Errorf("upstream failures: %v", got)
	}
}
