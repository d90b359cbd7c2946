package distname

import (
	"strings"
	"testing"
)

// TestMemberPathsOutsideTheInstallFolderAreRefused: every path an
// installer could write outside its folder, or read differently on
// Windows, is refused with the member named; ordinary members pass.
func TestMemberPathsOutsideTheInstallFolderAreRefused(t *testing.T) {
	for _, c := range []struct {
		name string
		bad  bool
	}{
		{"acme/__init__.py", false},
		{"acme-1.0.dist-info/RECORD", false},
		{"acme/..data", false},
		{"acme/a..b/c.py", false},
		{"acme/", false},
		{"acme-1.0.data/scripts/run", false},
		{"../../evil.py", true},
		{"acme/../../evil.py", true},
		{"acme/..", true},
		{"..", true},
		{"/etc/passwd", true},
		{`acme\..\..\evil.py`, true},
		{`acme\evil.py`, true},
		{"C:/Windows/evil.dll", true},
		{"c:evil.py", true},
		{"acme/evil\x00.py", true},
		{"", true},
	} {
		err := CheckMemberPath(c.name)
		switch {
		case c.bad && err == nil:
			t.Errorf("%q: accepted", c.name)
		case !c.bad && err != nil:
			t.Errorf("%q: %v", c.name, err)
		case c.bad && !strings.Contains(err.Error(), "member "):
			t.Errorf("%q: the error does not name the member: %v", c.name, err)
		}
	}
}
