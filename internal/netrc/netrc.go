// Package netrc reads the credentials of a ~/.netrc file (or $NETRC),
// as curl, git and pip read them: "machine HOST login USER password
// PASS" entries; a "default" entry is read but never used (see Find). Unknown
// tokens (account, port) are skipped with their value, a "macdef"'s
// macro is skipped to its blank line, and a file larger than MaxSize is
// refused rather than read.
package netrc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// MaxSize bounds the file read: a netrc is a few lines.
const MaxSize = 1 << 20

// Entry is one machine's (or the default's) credentials.
type Entry struct {
	Machine  string // "" for the default entry
	Default  bool
	Login    string
	Password string
}

// File is a parsed netrc.
type File struct {
	Entries []Entry
}

// Find returns the credentials of the first entry for host (host names
// compare without case). A "default" entry is never returned: larder
// would send its password to every host a lock or a redirect names.
func (f *File) Find(host string) (Entry, bool) {
	if f == nil || host == "" {
		return Entry{}, false
	}
	for _, e := range f.Entries {
		if !e.Default && e.Machine != "" && strings.EqualFold(e.Machine, host) {
			return e, true
		}
	}
	return Entry{}, false
}

// Path is the netrc file of this user: $NETRC, else ~/.netrc; "" when
// neither can be told.
func Path() string {
	if p := os.Getenv("NETRC"); p != "" {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".netrc")
}

// Load reads and parses the file at path. A missing file is no error: it
// gives an empty File.
func Load(path string) (*File, error) {
	if path == "" {
		return &File{}, nil
	}
	fh, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return &File{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%s: larger than %d bytes, which no netrc is: not read", path, MaxSize)
	}
	return Parse(string(data)), nil
}

// Parse reads netrc text. It never fails: what it cannot read is
// skipped, as curl skips it. A keyword's value may stand on the next
// line ("machine" then the host below it), as curl reads it.
func Parse(text string) *File {
	f := &File{}
	cur := -1      // the entry login and password go to; -1 for none
	want := ""     // the keyword whose value the next token is
	macro := false // in a macdef's macro, which runs to a blank line
	for _, line := range strings.Split(text, "\n") {
		toks := strings.Fields(line)
		if macro {
			macro = len(toks) > 0
			continue
		}
		for _, tok := range toks {
			if want == "" && strings.HasPrefix(tok, "#") {
				break // a comment to the line's end
			}
			if want != "" {
				switch want {
				case "machine":
					f.Entries = append(f.Entries, Entry{Machine: tok})
					cur = len(f.Entries) - 1
				case "login":
					if cur >= 0 {
						f.Entries[cur].Login = tok
					}
				case "password":
					if cur >= 0 {
						f.Entries[cur].Password = tok
					}
				}
				want = ""
				continue
			}
			switch tok {
			case "machine", "login", "password":
				want = tok
			case "default":
				f.Entries = append(f.Entries, Entry{Default: true})
				cur = len(f.Entries) - 1
			case "macdef":
				// The macro (from the next line) runs to a blank line; it
				// belongs to no entry.
				cur, macro = -1, true
			default:
				want = "skip" // account, port or unknown: skip its value
			}
			if macro {
				break
			}
		}
	}
	return f
}
