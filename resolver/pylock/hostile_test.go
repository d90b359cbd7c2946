package pylock

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAHugeValueInAnErrorIsShownByItsEnds loads locks whose bad values are
// megabytes long: the error still names the file, the line, the key and
// what is wrong, and shows the value by its start and end, so that a
// hostile file cannot flood a terminal or a log.
func TestAHugeValueInAnErrorIsShownByItsEnds(t *testing.T) {
	const header = "lock-version = \"1.0\"\ncreated-by = \"x\"\n[[packages]]\n"
	wheel := "wheels = [{ url = \"https://example.org/a-1.0-py3-none-any.whl\", hashes = { sha256 = \"" + strings.Repeat("ab", 32) + "\" } }]\n"
	for _, tc := range []struct {
		name, lock, want string
	}{
		{
			name: "a name of 10 MB",
			lock: header + "name = \"" + strings.Repeat("A_", 5<<20) + "\"\nversion = \"1.0\"\n" + wheel,
			want: `:4: packages[0].name: invalid project name "A_A_`,
		},
		{
			name: "a digest of 10 MB",
			lock: header + "name = \"a\"\nversion = \"1.0\"\nwheels = [{ url = \"https://example.org/a.whl\", hashes = { sha256 = \"" + strings.Repeat("XY", 5<<20) + "\" } }]\n",
			want: `:6: packages[0].wheels[0].hashes.sha256: invalid digest "XYXY`,
		},
		{
			name: "a marker of 100,000 parentheses",
			lock: header + "name = \"a\"\nversion = \"1.0\"\nmarker = \"" + strings.Repeat("(", 100000) + "python_version > '3'" + strings.Repeat(")", 100000) + "\"\n" + wheel,
			want: `:6: packages[0].marker: `,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "pylock.toml")
			if err := os.WriteFile(path, []byte(tc.lock), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			if err == nil {
				t.Fatal("Load accepted the lock")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, path+tc.want) || !strings.Contains(msg, "bytes left out]...") || len(msg) > 4096 {
				t.Errorf("error of %d bytes, want under 4 KB, starting %q and eliding the value:\n%.300s", len(msg), path+tc.want, msg)
			}
		})
	}
}
