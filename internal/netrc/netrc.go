// Package netrc reads the credentials of a ~/.netrc file (or $NETRC),
// as curl, git and pip read them: "machine HOST login USER password
// PASS" entries, and a "default" entry for every other host. Unknown
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
	Login    string
	Password string
}

// File is a parsed netrc.
type File struct {
	Entries []Entry
}

// Find returns the credentials for host: the first entry of that machine
// (host names compare without case), else the default entry.
func (f *File) Find(host string) (Entry, bool) {
	if f == nil {
		return Entry{}, false
	}
	for _, e := range f.Entries {
		if e.Machine != "" && strings.EqualFold(e.Machine, host) {
			return e, true
		}
	}
	for _, e := range f.Entries {
		if e.Machine == "" {
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
// skipped, as curl skips it.
func Parse(text string) *File {
	f := &File{}
	var cur *Entry
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		toks := strings.Fields(lines[i])
		for j := 0; j < len(toks); j++ {
			tok := toks[j]
			if strings.HasPrefix(tok, "#") {
				break // a comment to the line's end
			}
			next := func() string {
				if j+1 < len(toks) {
					j++
					return toks[j]
				}
				return ""
			}
			switch tok {
			case "machine":
				f.Entries = append(f.Entries, Entry{Machine: next()})
				cur = &f.Entries[len(f.Entries)-1]
			case "default":
				f.Entries = append(f.Entries, Entry{})
				cur = &f.Entries[len(f.Entries)-1]
			case "login":
				if v := next(); cur != nil {
					cur.Login = v
				}
			case "password":
				if v := next(); cur != nil {
					cur.Password = v
				}
			case "macdef":
				// The macro runs to the next blank line; it belongs to no
				// entry and what follows it starts afresh.
				cur = nil
				for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" {
					i++
				}
				j = len(toks)
			default:
				next() // account, port or unknown: skip its value
			}
		}
	}
	// Entries are pointed at while parsing: drop the ones without a
	// machine name (a trailing "machine") only now.
	out := f.Entries[:0]
	for _, e := range f.Entries {
		if e.Machine == "" && e.Login == "" && e.Password == "" {
			continue
		}
		out = append(out, e)
	}
	f.Entries = out
	return f
}
