package netrc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), ".netrc")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAMachinesCredentialsAreFoundAndTheDefaultServesNoHost(t *testing.T) {
	f, err := Load(write(t, `# a comment: machine evil login x password y
machine pypi.example.org
  login ci
  account ignored port 443
  password s3cr3t # trailing comment
macdef init
  machine inside.example.org login macro password macro

machine Other.Example.org login o password p unknown-token value
default login anon password guest
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		host        string
		login, pass string
		ok          bool
	}{
		{"pypi.example.org", "ci", "s3cr3t", true},
		{"other.example.org", "o", "p", true},
		{"inside.example.org", "", "", false}, // the macro's text is no entry
		{"evil", "", "", false},               // nor is a comment's, nor the default
		{"", "", "", false},
	} {
		e, ok := f.Find(tt.host)
		if ok != tt.ok || e.Login != tt.login || e.Password != tt.pass {
			t.Errorf("Find(%q) = %+v, %v; want %s/%s", tt.host, e, ok, tt.login, tt.pass)
		}
	}
}

func TestWithoutADefaultAnUnknownHostHasNoCredentials(t *testing.T) {
	f := Parse("machine a.example login u password p\nmachine")
	if _, ok := f.Find("b.example"); ok {
		t.Error("an unknown host got credentials")
	}
	if e, ok := f.Find("a.example"); !ok || e.Password != "p" {
		t.Errorf("Find(a.example) = %+v, %v", e, ok)
	}
}

// TestAMachineNamedOnTheNextLineIsThatMachinesOnly: curl reads a
// keyword's value on the next line; a reader that took "machine" alone
// for the default entry sent its password to every host.
func TestAMachineNamedOnTheNextLineIsThatMachinesOnly(t *testing.T) {
	f := Parse("machine\n  private.example.com\n  login alice\n  password s3cret\n")
	if e, ok := f.Find("evil.example.net"); ok {
		t.Errorf("another host got %+v", e)
	}
	if e, ok := f.Find("private.example.com"); !ok || e.Login != "alice" || e.Password != "s3cret" {
		t.Errorf("Find(private.example.com) = %+v, %v", e, ok)
	}
}

func TestAMissingFileIsEmptyAndAHugeOneIsRefused(t *testing.T) {
	f, err := Load(filepath.Join(t.TempDir(), "none"))
	if err != nil || len(f.Entries) != 0 {
		t.Errorf("a missing netrc: %+v, %v", f, err)
	}
	huge := write(t, "machine a login b password c\n"+strings.Repeat("#", MaxSize))
	if _, err := Load(huge); err == nil || !strings.Contains(err.Error(), "larger than") || !strings.Contains(err.Error(), huge) {
		t.Errorf("a huge netrc: %v", err)
	}
}

func TestPathIsNETRCElseTheHomesNetrc(t *testing.T) {
	t.Setenv("NETRC", "/somewhere/netrc")
	if got := Path(); got != "/somewhere/netrc" {
		t.Errorf("Path with $NETRC = %q", got)
	}
	t.Setenv("NETRC", "")
	t.Setenv("HOME", "/home/u")
	if got := Path(); got != "/home/u/.netrc" {
		t.Errorf("Path = %q", got)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("machine a login b password c\nmacdef x\ny\n\ndefault login d")
	f.Fuzz(func(t *testing.T, s string) {
		p := Parse(s)
		for _, e := range p.Entries {
			if e.Machine == "" && !e.Default {
				t.Fatalf("an entry of no machine from %q", s)
			}
			if e.Default {
				if _, ok := p.Find(""); ok {
					t.Fatalf("the default entry was found from %q", s)
				}
			}
		}
	})
}
