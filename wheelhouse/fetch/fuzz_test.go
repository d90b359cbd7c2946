package fetch

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/larder-build/larder/resolver/pylock"
	"github.com/larder-build/larder/wheelhouse"
)

// FuzzPlanFromAnyLock feeds any lock that decodes to the planner, Verify
// and GC: they must return an error or a result, never panic.
func FuzzPlanFromAnyLock(f *testing.F) {
	_, lock := lockIndex(f, withSdist(smallIndex()), []string{"app"}, []string{amd64, arm64})
	lock.Packages = append(lock.Packages, pylock.Package{
		Name: "fork", Version: "2.1",
		VCS:  &pylock.VCS{Type: "git", URL: "https://example.invalid/fork.git", CommitID: "0123456789abcdef0123456789abcdef01234567"},
		Tool: pylock.Tool{Larder: &pylock.LarderTool{Targets: []string{amd64}, Build: "vcs"}},
	})
	var buf bytes.Buffer
	if err := lock.Encode(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("lock-version = \"1.0\"\ncreated-by = \"x\"\n[[packages]]\nname = \"a\"\nversion = \"1\"\nwheels = [{url = \"https://h/a-1-py3-none-any.whl\", hashes = {sha256 = \"00\"}}]\n"))
	s := newStore(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := pylock.Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		p, err := makePlan(l)
		if err != nil {
			return
		}
		for _, w := range p.wants {
			if !wheelhouse.ValidFilename(w.name) || len(w.sha256) != 64 {
				t.Errorf("planned %q with sha256 %q", w.name, w.sha256)
			}
		}
		if _, err := Verify(context.Background(), s, l); err != nil {
			t.Errorf("verify of an empty store: %v", err)
		}
		if _, err := GC(context.Background(), s, l, true); err != nil {
			t.Errorf("gc of an empty store: %v", err)
		}
	})
}

func TestRetryAfterAndContentRangeParsing(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{{"", 0}, {"3", 3 * time.Second}, {"-1", 0}, {"soon", 0}, {"Wed, 21 Oct 2015 07:28:00 GMT", -1}}
	for _, tt := range tests {
		got := retryAfter(tt.in)
		if (tt.want >= 0 && got != tt.want) || (tt.want < 0 && got >= 0) {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	ranges := []struct {
		in    string
		start int64
		ok    bool
	}{{"bytes 100-199/200", 100, true}, {"bytes */200", 0, false}, {"items 1-2/3", 0, false}, {"bytes 5", 0, false}}
	for _, tt := range ranges {
		if start, ok := contentRangeStart(tt.in); start != tt.start || ok != tt.ok {
			t.Errorf("contentRangeStart(%q) = %d, %v", tt.in, start, ok)
		}
	}
	for attempt := range 10 {
		if d := backoff(250*time.Millisecond, attempt); d <= 0 || d > 10*time.Second {
			t.Errorf("backoff after %d failures: %v", attempt, d)
		}
	}
}
