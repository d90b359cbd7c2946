package uvlock

// This file is shared by resolver/pyproject, resolver/pylock and
// resolver/uvlock (each copy keeps only what its package uses): the three
// were written side by side, and the helper waits there for a package of
// its own.

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// Error is an invalid input found in a TOML document, located by file, line
// and key path (such as `packages[3].wheels[0].hashes`).
type Error struct {
	File string // file name as given to Load, or "" for Decode
	Line int    // 1-based, 0 when unknown
	Key  string // dotted key path with array indexes, "" for the whole document
	Err  error
}

// Error formats the error as "file:line: key: message".
func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// keyLines maps the key paths of a TOML document to the line where each key,
// array element or table header starts, so that errors found after decoding
// can still point into the file.
type keyLines struct {
	file   string
	doc    []byte
	built  bool
	lines  map[string]int   // first line of each path
	atLine map[int][]string // every path seen on a line, duplicates too
}

// indexKeyLines prepares an index of doc, built on first use: a document
// without errors never pays for it.
func indexKeyLines(file string, doc []byte) *keyLines {
	return &keyLines{file: file, doc: doc}
}

// build walks the document with go-toml's parser. It is best effort: on a
// syntax error it keeps what it saw, and the decoder reports the error itself.
func (x *keyLines) build() {
	if x.built {
		return
	}
	x.built = true
	x.lines, x.atLine = map[string]int{}, map[int][]string{}
	doc := x.doc
	var newlines []int
	for i, c := range doc {
		if c == '\n' {
			newlines = append(newlines, i)
		}
	}
	lineOf := func(n *unstable.Node) int {
		if n == nil || n.Raw.Length == 0 {
			return 0 // arrays carry no range of their own
		}
		return sort.SearchInts(newlines, int(n.Raw.Offset)) + 1
	}
	arrays := map[string]int{} // array-of-tables path -> elements seen
	var p unstable.Parser
	p.Reset(doc)
	current := ""
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			path, line := "", 0
			it := e.Key()
			for it.Next() {
				k := it.Node()
				if line == 0 {
					line = lineOf(k)
				}
				path = joinKey(path, string(k.Data))
				if it.IsLast() && e.Kind == unstable.ArrayTable {
					n := arrays[path]
					arrays[path] = n + 1
					path = indexKey(path, n)
				} else if n, ok := arrays[path]; ok {
					path = indexKey(path, n-1)
				}
				x.record(path, line)
			}
			current = path
		case unstable.KeyValue:
			x.keyValue(current, e, lineOf)
		}
	}
}

func (x *keyLines) keyValue(prefix string, kv *unstable.Node, lineOf func(*unstable.Node) int) {
	path, line := prefix, 0
	it := kv.Key()
	for it.Next() {
		k := it.Node()
		line = lineOf(k)
		path = joinKey(path, string(k.Data))
		x.record(path, line)
	}
	x.value(path, kv.Value(), line, lineOf)
}

func (x *keyLines) value(path string, v *unstable.Node, line int, lineOf func(*unstable.Node) int) {
	switch v.Kind {
	case unstable.Array:
		i := 0
		it := v.Children()
		for it.Next() {
			c := it.Node()
			if c.Kind == unstable.Comment {
				continue
			}
			l := lineOf(c)
			if l == 0 {
				l = line
			}
			p := indexKey(path, i)
			x.record(p, l)
			x.value(p, c, l, lineOf)
			i++
		}
	case unstable.InlineTable:
		it := v.Children()
		for it.Next() {
			if c := it.Node(); c.Kind == unstable.KeyValue {
				x.keyValue(path, c, lineOf)
			}
		}
	}
}

func (x *keyLines) record(path string, line int) {
	if line <= 0 {
		return
	}
	if _, ok := x.lines[path]; !ok {
		x.lines[path] = line
	}
	x.atLine[line] = append(x.atLine[line], path)
}

// line returns the line of path, or of its nearest recorded ancestor.
func (x *keyLines) line(path string) int {
	x.build()
	for path != "" {
		if l, ok := x.lines[path]; ok {
			return l
		}
		path = parentKey(path)
	}
	return 0
}

// errorf builds an *Error located at path.
func (x *keyLines) errorf(path string, format string, args ...any) error {
	return &Error{File: x.file, Line: x.line(path), Key: path, Err: fmt.Errorf(format, args...)}
}

// wrap locates err at path, keeping an *Error that is already located.
func (x *keyLines) wrap(path string, err error) error {
	var located *Error
	if errors.As(err, &located) {
		return err
	}
	return &Error{File: x.file, Line: x.line(path), Key: path, Err: err}
}

// decodeError turns go-toml's errors into an *Error. go-toml knows the line
// but drops array indexes from the key, so the index is asked for the path
// with indexes that starts on that line.
func (x *keyLines) decodeError(err error) error {
	var de *toml.DecodeError
	if !errors.As(err, &de) {
		var sm *toml.StrictMissingError
		if errors.As(err, &sm) && len(sm.Errors) > 0 {
			de = &sm.Errors[0]
		} else {
			return &Error{File: x.file, Err: err}
		}
	}
	x.build()
	line, _ := de.Position()
	want := ""
	for _, k := range de.Key() {
		want = joinKey(want, k)
	}
	// go-toml's key is relative to the table being filled for some errors
	// (a duplicate key) and absolute for others: match either way.
	key := want
	for _, p := range x.atLine[line] {
		if s := stripIndexes(p); want != "" && (s == want || strings.HasSuffix(s, "."+want)) {
			key = p
			break
		}
	}
	msg := strings.TrimPrefix(de.Error(), "toml: ")
	return &Error{File: x.file, Line: line, Key: key, Err: errors.New(msg)}
}

// joinKey appends a key part, quoting it when it is not a bare TOML key.
func joinKey(prefix, part string) string {
	if !isBareKey(part) {
		part = strconv.Quote(part)
	}
	if prefix == "" {
		return part
	}
	return prefix + "." + part
}

func indexKey(prefix string, i int) string {
	return prefix + "[" + strconv.Itoa(i) + "]"
}

func isBareKey(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// parentKey drops the last part (a key or an index) of path.
func parentKey(path string) string {
	parts := splitPath(path)
	if len(parts) == 0 {
		return ""
	}
	return strings.TrimSuffix(path[:parts[len(parts)-1][0]], ".")
}

// stripIndexes removes every "[n]" part from path.
func stripIndexes(path string) string {
	var keys []string
	for _, p := range splitPath(path) {
		if path[p[0]] != '[' {
			keys = append(keys, path[p[0]:p[1]])
		}
	}
	return strings.Join(keys, ".")
}

// splitPath returns the [start, end) span of each part of path: a bare key,
// a quoted key (with Go escapes) or an index.
func splitPath(path string) [][2]int {
	var parts [][2]int
	for i := 0; i < len(path); {
		start := i
		switch path[i] {
		case '.':
			i++
			continue
		case '[':
			for i < len(path) && path[i] != ']' {
				i++
			}
			i++
		case '"':
			for i++; i < len(path) && path[i] != '"'; i++ {
				if path[i] == '\\' {
					i++
				}
			}
			i++
		default:
			for i < len(path) && path[i] != '.' && path[i] != '[' {
				i++
			}
		}
		parts = append(parts, [2]int{start, min(i, len(path))})
	}
	return parts
}
