package tags

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/pyref"
	"github.com/larder-build/larder/resolver/target"
)

// reference runs testdata/tags/reference.py once with every request and
// returns its answers in order: pip's vendored packaging (21.3) is the
// reference implementation on this machine.
func reference(t *testing.T, reqs []map[string]any) []map[string]any {
	t.Helper()
	resps, err := pyref.Ask[map[string]any, map[string]any](t, reqs, "../../testdata/tags/reference.py")
	if err != nil {
		t.Fatalf("running reference.py: %v", err)
	}
	if len(resps) != len(reqs) {
		t.Fatalf("reference.py answered %d of %d requests", len(resps), len(reqs))
	}
	return resps
}

func stringsOf(v any) []string {
	list, _ := v.([]any)
	out := make([]string, len(list))
	for i, x := range list {
		out[i], _ = x.(string)
	}
	return out
}

func libcRequest(tg target.Target, today bool) map[string]any {
	return map[string]any{
		"op": "target", "python": []int{tg.Python.Major, tg.Python.Minor},
		"arch": tg.Machine(), "libc": string(tg.Libc.Kind),
		"libc_version": []int{tg.Libc.Major, tg.Libc.Minor}, "today": today,
	}
}

// firstDifference describes where two tag lists part, for a readable failure.
func firstDifference(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("at %d: got %s, want %s", i, got[i], want[i])
		}
	}
	return fmt.Sprintf("lengths: got %d, want %d", len(got), len(want))
}

// referenceTargets is the matrix compared with packaging: CPython 3.6 to
// 3.13 on every architecture with glibc and musl versions around the
// manylinux floors and the releases base images ship.
func referenceTargets(short bool) []string {
	pythons := []string{"3.6", "3.7", "3.8", "3.11", "3.12", "3.13"}
	archs := []string{"amd64", "arm64", "386", "arm/v7", "ppc64le", "s390x", "riscv64"}
	libcs := []string{"glibc2.4", "glibc2.5", "glibc2.16", "glibc2.17", "glibc2.28", "glibc2.36", "glibc3.1", "musl1.1", "musl1.2"}
	if short {
		pythons, archs = []string{"3.8", "3.11", "3.12"}, []string{"amd64", "arm64"}
		libcs = []string{"glibc2.17", "glibc2.28", "glibc2.36", "musl1.2"}
	}
	var out []string
	for _, p := range pythons {
		for _, a := range archs {
			for _, l := range libcs {
				out = append(out, "linux/"+a+":"+p+":"+l)
			}
		}
	}
	return out
}

func TestSupportedMatchesPackagingForEveryTarget(t *testing.T) {
	names := referenceTargets(testing.Short())
	reqs := make([]map[string]any, len(names))
	targets := make([]target.Target, len(names))
	for i, n := range names {
		targets[i] = mustTarget(t, n)
		reqs[i] = libcRequest(targets[i], true)
	}
	for i, resp := range reference(t, reqs) {
		want := stringsOf(resp["tags"])
		got := tagStrings(Supported(targets[i]))
		if !slices.Equal(got, want) {
			t.Errorf("Supported(%s) differs from packaging (%d vs %d tags), %s", names[i], len(got), len(want), firstDifference(got, want))
		}
	}
}

// The machine's own CPython is the one case where packaging needs no
// patching at all: sys_tags() of the running interpreter.
func TestSupportedMatchesSysTagsOfTheRunningInterpreter(t *testing.T) {
	resp := reference(t, []map[string]any{{"op": "host"}})[0]
	machine, _ := resp["machine"].(string)
	arch := map[string]string{"x86_64": "amd64", "aarch64": "arm64"}[machine]
	glibc := stringsOfInts(resp["glibc"])
	py := stringsOfInts(resp["python"])
	if len(glibc) != 2 || len(py) != 2 {
		t.Fatalf("reference.py describes the host as %v", resp)
	}
	if arch == "" || glibc[0] != "2" {
		t.Skipf("host %v with glibc %v is not a glibc x86_64/aarch64 machine", resp["machine"], glibc)
	}
	tg := mustTarget(t, fmt.Sprintf("linux/%s:%s.%s:glibc%s.%s", arch, py[0], py[1], glibc[0], glibc[1]))
	want := stringsOf(resp["tags"])
	// packaging 21.3 predates cpXY-none-any in sys_tags; see
	// TestSupportedFollowsTheSpecWherePackaging21Differs.
	got := slices.DeleteFunc(tagStrings(Supported(tg)), func(s string) bool { return s == "cp"+py[0]+py[1]+"-none-any" })
	if !slices.Equal(got, want) {
		t.Errorf("Supported(%s) differs from this interpreter's sys_tags(), %s", tg, firstDifference(got, want))
	}
}

func stringsOfInts(v any) []string {
	list, _ := v.([]any)
	out := make([]string, len(list))
	for i, x := range list {
		f, _ := x.(float64)
		out[i] = fmt.Sprint(int(f))
	}
	return out
}

// pip's vendored packaging 21.3 is older than two changes that today's
// packaging makes and the standards call for; Supported follows them.
func TestSupportedFollowsTheSpecWherePackaging21Differs(t *testing.T) {
	// "Platform compatibility tags", Use: "This example list is for an
	// installer running under CPython 3.3 on a linux_x86_64 system. It is in
	// order from most-preferred [...] to least-preferred [...]:
	//   7. py3-none-linux_x86_64*
	//   8. cp33-none-any
	//   9. cp3-none-any
	//   10. py33-none-any"
	// packaging added cpXY-none-any to sys_tags() after 21.3 (compatible_tags
	// with interpreter="cp"+version), right before the pyXY-none-any tags.
	//
	// Same spec, manylinux: "It defines tags of the form
	// manylinux_<x>_<y>_<arch>, where x and y are glibc major and minor
	// versions supported [...] and arch is the architecture". packaging
	// 21.3 gives no manylinux tag on riscv64; today's gives riscv64 the
	// 2.17 floor of every architecture but x86.
	cases := []struct {
		target   string
		missing  []string // in Supported, not in 21.3's list
		position map[string]int
	}{
		{"linux/amd64:3.11:glibc2.17", []string{"cp311-none-any"}, nil},
		{"linux/riscv64:3.12:glibc2.36", []string{"cp312-none-any", "cp312-cp312-manylinux_2_36_riscv64", "py30-none-manylinux_2_17_riscv64"},
			map[string]int{"cp312-cp312-manylinux_2_36_riscv64": 0, "cp312-cp312-manylinux_2_17_riscv64": 19}},
	}
	reqs := make([]map[string]any, len(cases))
	for i, c := range cases {
		reqs[i] = libcRequest(mustTarget(t, c.target), false)
	}
	for i, resp := range reference(t, reqs) {
		c := cases[i]
		old := stringsOf(resp["tags"])
		got := tagStrings(Supported(mustTarget(t, c.target)))
		for _, tag := range c.missing {
			if slices.Contains(old, tag) || !slices.Contains(got, tag) {
				t.Errorf("%s: want %s in Supported and not in packaging 21.3's list", c.target, tag)
			}
		}
		for tag, pos := range c.position {
			if slices.Index(got, tag) != pos {
				t.Errorf("%s: %s at %d, want %d", c.target, tag, slices.Index(got, tag), pos)
			}
		}
		// Apart from those, the lists agree in order.
		kept := slices.DeleteFunc(slices.Clone(got), func(s string) bool {
			return strings.HasSuffix(s, "-none-any") && strings.HasPrefix(s, "cp") || strings.Contains(s, "manylinux")
		})
		oldKept := slices.DeleteFunc(slices.Clone(old), func(s string) bool { return strings.Contains(s, "manylinux") })
		if !slices.Equal(kept, oldKept) {
			t.Errorf("%s: beyond the documented changes, %s", c.target, firstDifference(kept, oldKept))
		}
	}
}
