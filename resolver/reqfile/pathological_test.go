package reqfile

import (
	"strings"
	"testing"
	"time"
)

func TestPathologicalInputsParseQuickly(t *testing.T) {
	const n = 200000
	for name, data := range map[string]string{
		"many refs":          strings.Repeat("${HOST}", n/7),
		"many refs of unset": strings.Repeat("${NOPE}", n/7),
		"long continuation":  strings.Repeat("a\\\n", n/3),
		"many hashes":        strings.Repeat("#", n),
		"many spaces":        "foo" + strings.Repeat(" ", n) + "--pre",
		"many words":         strings.Repeat("a ", n/2),
		"many options":       strings.Repeat("--pre ", n/6),
		"many brackets":      strings.Repeat("[", n) + "]",
		"many close":         "a[" + strings.Repeat("]", n),
		"nested parens":      "foo ; " + strings.Repeat("(", n/2) + `python_version > "3"` + strings.Repeat(")", n/2),
		"via block":          "a==1\n    # via\n" + strings.Repeat("    #   x\n", n/10),
		"many lines":         strings.Repeat("a==1\n", n/5),
		"many at":            strings.Repeat("@", n) + ".whl",
		"long url":           "git+https://h/" + strings.Repeat("@a", n/2) + "#egg=x",
		"quotes":             "--trusted-host " + strings.Repeat(`"a"'b'`, n/6),
	} {
		start := time.Now()
		_, _ = Parse(strings.NewReader(data), "/f/req.txt", withFileSystem(memFS{}), WithWorkDir("/f"), WithEnv(map[string]string{"HOST": "h"}))
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: %v", name, d)
		}
	}
}
