package reqfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/testenv"
)

// countingFS is a memFS that counts reads per file and refuses more than
// max in all, so that an exponential walk fails fast instead of running
// for minutes.
type countingFS struct {
	memFS
	mu    sync.Mutex
	reads map[string]int
	total int
	max   int
	// onRead, if set, runs before each read, and onStat before each stat.
	onRead func(name string)
	onStat func(name string)
}

func (c *countingFS) Stat(name string) (fs.FileInfo, error) {
	if c.onStat != nil {
		c.onStat(name)
	}
	return c.memFS.Stat(name)
}

func (c *countingFS) ReadFile(name string) ([]byte, error) {
	c.mu.Lock()
	c.total++
	if c.reads == nil {
		c.reads = map[string]int{}
	}
	c.reads[filepath.Clean(name)]++
	over := c.max > 0 && c.total > c.max
	c.mu.Unlock()
	if over {
		return nil, fmt.Errorf("reading %s: more than %d reads in one parse", name, c.max)
	}
	if c.onRead != nil {
		c.onRead(name)
	}
	return c.memFS.ReadFile(name)
}

// diamond is a tree of levels files, each including the next level's file
// twice, with one requirement per file: 2^levels paths to the last one.
func diamond(levels int) map[string]string {
	files := map[string]string{}
	for i := range levels {
		files[fmt.Sprintf("d%02d.txt", i)] = fmt.Sprintf("-r d%02d.txt\n-r d%02d.txt\npkg%02d==1.0\n", i+1, i+1, i)
	}
	files[fmt.Sprintf("d%02d.txt", levels)] = "six==1.16.0\n"
	return files
}

func TestDiamondIncludesAreReadOnce(t *testing.T) {
	const levels = 22
	fsys := &countingFS{memFS: memFS{}, max: 1000}
	for name, content := range diamond(levels) {
		fsys.memFS["/w/"+name] = content
	}
	start := time.Now()
	f, err := ParseFile("/w/d00.txt", withFileSystem(fsys), WithWorkDir("/w"))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("parsing took %v, want well under a second", d)
	}
	for name, n := range fsys.reads {
		if n != 1 {
			t.Errorf("%s read %d times, want once", name, n)
		}
	}
	if len(f.Files) != levels+1 || len(f.Requirements) != levels+1 {
		t.Errorf("%d files and %d requirements, want %d of each", len(f.Files), len(f.Requirements), levels+1)
	}
	// The first path to a file is the one its lines are reported through.
	last := f.Requirements[0]
	if last.Source.String() != fmt.Sprintf("/w/d%02d.txt:1", levels) || len(last.Via) != levels {
		t.Errorf("first requirement at %s via %d includes, want the deepest file via %d", last.Source, len(last.Via), levels)
	}
}

func TestDiamondIncludesOfRealFilesParseFast(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, diamond(22))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := ParseFile(filepath.Join(dir, "d00.txt"))
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("parsing 22 levels of diamond includes ran for 10 s")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("parsing took %v, want well under a second", d)
	}
}

func TestAFileIncludedInBothModesIsReadInEach(t *testing.T) {
	fsys := &countingFS{memFS: memFS{
		"/w/req.txt": "-c c.txt\n-r c.txt\n-c c.txt\n-r c.txt\n",
		"/w/c.txt":   "c<2\n",
	}}
	f, err := ParseFile("/w/req.txt", withFileSystem(fsys), WithWorkDir("/w"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Requirements) != 1 || len(f.Constraints) != 1 {
		t.Errorf("%d requirements and %d constraints, want 1 and 1", len(f.Requirements), len(f.Constraints))
	}
	if n := fsys.reads["/w/c.txt"]; n != 2 {
		t.Errorf("c.txt read %d times, want once as constraints and once as requirements", n)
	}
}

func TestIncludingAgainAFileWithOptionsWarns(t *testing.T) {
	f := mustParseMem(t, map[string]string{
		"req.txt": "-r a.txt\n-r b.txt\n-r a.txt\n",
		"a.txt":   "-i https://a.example/simple\n",
		"b.txt":   "-i https://b.example/simple\nb==1\n",
	})
	var found bool
	for _, w := range f.Warnings {
		if w.Source.String() == "/w/req.txt:3" && strings.Contains(w.Message, "read already") {
			found = true
		}
	}
	if !found {
		t.Errorf("no warning at /w/req.txt:3 that a.txt's options are not applied again; warnings: %v", f.Warnings)
	}
}

func TestIncludeTreesHaveLimits(t *testing.T) {
	testenv.Slow(t, "parses 10,000 files and 80 MiB of text")
	wide, chain := memFS{}, memFS{}
	var top strings.Builder
	for i := 1; i <= maxFiles; i++ {
		fmt.Fprintf(&top, "-r f%05d.txt\n", i)
		wide[fmt.Sprintf("/w/f%05d.txt", i)] = "a==1\n"
	}
	wide["/w/f00000.txt"] = top.String()
	for i := range maxDepth + 1 {
		chain[fmt.Sprintf("/w/f%05d.txt", i)] = fmt.Sprintf("-r f%05d.txt\n", i+1)
	}
	chain[fmt.Sprintf("/w/f%05d.txt", maxDepth+1)] = "a==1\n"
	var many strings.Builder
	for i := range maxRequirements + 1 {
		fmt.Fprintf(&many, "p%d\n", i)
	}
	big := strings.Repeat("# a long comment to fill the file up\n", 20<<20/37)
	for _, tc := range []struct {
		name  string
		fsys  memFS
		where string
		want  string
	}{
		{"too many files", wide, fmt.Sprintf("/w/f00000.txt:%d", maxFiles), "more than 10000 requirement files"},
		{"too deep", chain, fmt.Sprintf("/w/f%05d.txt:1", maxDepth-1), "more than 100 levels"},
		{"too many requirements", memFS{"/w/f00000.txt": "-r many.txt\n", "/w/many.txt": many.String()},
			fmt.Sprintf("/w/many.txt:%d", maxRequirements+1), "more than 50000 distinct requirement lines"},
		{"too many bytes", memFS{
			"/w/f00000.txt": "-r a.txt\n-r b.txt\n-r c.txt\n-r d.txt\n",
			"/w/a.txt":      big, "/w/b.txt": big, "/w/c.txt": big, "/w/d.txt": big,
		}, "/w/f00000.txt:4", "more than the 67108864 allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFile("/w/f00000.txt", withFileSystem(tc.fsys), WithWorkDir("/w"))
			var lineErr *Error
			if !errors.As(err, &lineErr) || lineErr.Source.String() != tc.where || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one at %s saying %q", err, tc.where, tc.want)
			}
		})
	}
}

func TestParsingStopsWhenTheContextIsDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fsys := &countingFS{memFS: memFS{
		"/w/req.txt":  "-r a.txt\n-r big.txt\n",
		"/w/a.txt":    "a==1\n",
		"/w/big.txt":  strings.Repeat("b==1\n", 1<<20),
		"/w/late.txt": "c==1\n",
	}}
	// The interrupt lands while the tree is being read.
	fsys.onRead = func(name string) {
		if strings.HasSuffix(name, "a.txt") {
			cancel()
		}
	}
	_, err := ParseFileContext(ctx, "/w/req.txt", withFileSystem(fsys), WithWorkDir("/w"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if fsys.reads["/w/big.txt"] != 0 {
		t.Errorf("big.txt was read after the context was done")
	}
	var lineErr *Error
	if !errors.As(err, &lineErr) || lineErr.Source.File == "" {
		t.Errorf("error %v does not name a file", err)
	}

	// One huge file stops too, between its lines.
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	huge := strings.Repeat("b[x]==1 ; python_version > '3'\n", 30<<20/31)
	start := time.Now()
	_, err = ParseContext(ctx, strings.NewReader(huge), "/w/huge.txt", withFileSystem(memFS{}), WithWorkDir("/w"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("huge file: error %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("huge file: stopped %v after the start, want soon after the cancel", d)
	}
}

func TestParsingStopsBeforeTheNextLongLineOrIncludeOnceTheContextIsDone(t *testing.T) {
	// A 256 KiB marker takes tens of milliseconds to parse; 40 of them,
	// fewer than checkEvery lines, are seconds under the race detector.
	long := "p==1 ; " + strings.Repeat("python_version > '3' and ", 256<<10/26) + "python_version > '3'\n"
	for _, tc := range []struct {
		name, rest string
	}{
		{"a few long lines", strings.Repeat(long, 40)},
		{"an include", "-r big.txt\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			fsys := &countingFS{memFS: memFS{
				// The --find-links line is looked up beside the file: the
				// interrupt lands then, in the middle of the file.
				"/w/req.txt":  "--find-links ./wheels\n" + tc.rest,
				"/w/big.txt":  "b==1\n",
				"/w/wheels/x": "",
			}}
			fsys.onStat = func(string) { cancel() }
			_, err := ParseFileContext(ctx, "/w/req.txt", withFileSystem(fsys), WithWorkDir("/w"))
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("error %v, want context.Canceled", err)
			}
			var lineErr *Error
			if !errors.As(err, &lineErr) || lineErr.Source != (Source{File: "/w/req.txt", Line: 2}) {
				t.Errorf("error %v, want it at /w/req.txt:2, the line after the interrupt", err)
			}
			if fsys.reads["/w/big.txt"] != 0 {
				t.Errorf("big.txt was read after the context was done")
			}
		})
	}
}

// cancellingReader yields line over and over, up to size bytes (forever
// if size is 0), and calls cancel once it has yielded cancelAt bytes; it
// counts what it yields after that.
type cancellingReader struct {
	line             string
	size, cancelAt   int
	cancel           func()
	yielded, tooLate int
}

func (r *cancellingReader) Read(b []byte) (int, error) {
	if r.size > 0 && r.yielded >= r.size {
		return 0, io.EOF
	}
	if r.size > 0 {
		b = b[:min(len(b), r.size-r.yielded)]
	}
	for i := range b {
		b[i] = r.line[(r.yielded+i)%len(r.line)]
	}
	if r.yielded >= r.cancelAt {
		r.tooLate += len(b)
	}
	r.yielded += len(b)
	if r.yielded >= r.cancelAt {
		r.cancel()
	}
	return len(b), nil
}

func TestReadingStopsWithinAPieceWhenTheContextIsDone(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
	}{
		{"an endless stream", 0},
		{"a file near the size limit", 30 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r := &cancellingReader{line: "b==1\n", size: tc.size, cancelAt: 1 << 20, cancel: cancel}
			_, err := ParseContext(ctx, r, "/w/req.txt", withFileSystem(memFS{}), WithWorkDir("/w"))
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("error %v, want context.Canceled", err)
			}
			var lineErr *Error
			if !errors.As(err, &lineErr) || lineErr.Source.File != "/w/req.txt" {
				t.Errorf("error %v does not name /w/req.txt", err)
			}
			if r.tooLate > readPiece {
				t.Errorf("%d bytes were read after the context was done, want at most %d", r.tooLate, readPiece)
			}
		})
	}
}

func TestSplittingLinesStopsWhenTheContextIsDone(t *testing.T) {
	// Over one piece, so that the look at the context between pieces
	// runs, and nothing is lost there.
	n := splitPiece/len("b==1\r\n") + 100
	text := strings.Repeat("b==1\r\n", n)
	lines, err := splitLinesContext(context.Background(), text)
	if err != nil || len(lines) != n {
		t.Fatalf("%d lines, error %v; want %d lines", len(lines), err, n)
	}
	if want := splitLines(text); !slices.Equal(lines, want) {
		t.Errorf("splitLinesContext and splitLines disagree")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := splitLinesContext(ctx, text); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

func TestRepeatedRequirementLinesCostNothing(t *testing.T) {
	testenv.Slow(t, "parses four 30 MiB files")
	for _, tc := range []struct {
		name, line string
		want       int
	}{
		{"pin", "requests==2.31.0\n", 1},
		{"hashed", "requests==2.31.0 --hash=sha256:" + strings.Repeat("ab", 32) + "\n", 1},
		{"editable", "-e git+https://example.com/r.git#egg=r\n", 1},
		{"unset variable", "r @ https://${TOKEN}@example.com/r-1.0-py3-none-any.whl\n", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := strings.Repeat(tc.line, 30<<20/len(tc.line))
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			f, err := Parse(strings.NewReader(data), "/w/req.txt", withFileSystem(memFS{}), WithWorkDir("/w"), WithEnv(nil))
			if err != nil {
				t.Fatal(err)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			if len(f.Requirements) != tc.want {
				t.Errorf("%d requirements, want %d", len(f.Requirements), tc.want)
			}
			if len(f.Warnings) > 1 {
				t.Errorf("%d warnings, want at most the first line's", len(f.Warnings))
			}
			// The text itself (30 MiB) may stay, referenced by Raw.
			if kept := int64(after.HeapAlloc) - int64(before.HeapAlloc); kept > 40<<20 {
				t.Errorf("the parsed file keeps %d MiB of heap for %d MiB of text", kept>>20, len(data)>>20)
			}
			runtime.KeepAlive(f)
		})
	}
}

// keep fs imported for countingFS's interface check.
var _ fileSystem = (*countingFS)(nil)
var _ fs.FileInfo = memInfo{}
