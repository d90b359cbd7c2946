// Package tomldoc reads TOML documents whose errors must point into the
// file: it maps key paths (such as packages[3].wheels[0].hashes) to their
// lines, collects located problems, and reads typed values out of tables
// decoded into map[string]any. larder.toml, resolver/pylock, resolver/pyproject and
// resolver/uvlock share it.
package tomldoc

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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
		b.WriteString(elide(e.Key) + ": ")
	}
	b.WriteString(elide(e.Err.Error()))
	return b.String()
}

// maxShown bounds the key and the message of an Error: a value quoted
// from a hostile document (a 10 MB name, a marker of 100,000 parentheses)
// is shown by its start and end, not whole.
const maxShown = 1024

// elide returns s, or its start and end with the length of what is left
// out between them when s is longer than maxShown.
func elide(s string) string {
	if len(s) <= maxShown {
		return s
	}
	head, tail := maxShown*3/4, len(s)-maxShown/4
	for head > 0 && !utf8.RuneStart(s[head]) {
		head--
	}
	for tail < len(s) && !utf8.RuneStart(s[tail]) {
		tail++
	}
	return fmt.Sprintf("%s ...[%d bytes left out]... %s", s[:head], tail-head, s[tail:])
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// KeyLines maps the key paths of a TOML document to the line where each key,
// array element or table header starts, so that errors found after decoding
// can still point into the file.
type KeyLines struct {
	file   string
	doc    []byte
	built  bool
	lines  map[string]int   // first line of each path
	atLine map[int][]string // every path seen on a line, duplicates too
}

// Parse decodes a TOML document into its root table, with a line index
// and a problem list ready for the reader that walks it. A syntax error is
// returned located.
func Parse(file string, data []byte) (*Table, error) {
	x := Index(file, data)
	var doc map[string]any
	if err := toml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return nil, x.DecodeError(err)
	}
	return &Table{P: &Problems{X: x}, M: doc}, nil
}

// File returns the name of the file the document came from.
func (x *KeyLines) File() string { return x.file }

// Index prepares an index of doc, built on first use: a document
// without errors never pays for it.
func Index(file string, doc []byte) *KeyLines {
	return &KeyLines{file: file, doc: doc}
}

// build walks the document with go-toml's parser. It is best effort: on a
// syntax error it keeps what it saw, and the decoder reports the error itself.
func (x *KeyLines) build() {
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
				path = JoinKey(path, string(k.Data))
				if it.IsLast() && e.Kind == unstable.ArrayTable {
					n := arrays[path]
					arrays[path] = n + 1
					path = IndexKey(path, n)
				} else if n, ok := arrays[path]; ok {
					path = IndexKey(path, n-1)
				}
				x.record(path, line)
			}
			current = path
		case unstable.KeyValue:
			x.keyValue(current, e, lineOf)
		}
	}
}

func (x *KeyLines) keyValue(prefix string, kv *unstable.Node, lineOf func(*unstable.Node) int) {
	path, line := prefix, 0
	it := kv.Key()
	for it.Next() {
		k := it.Node()
		line = lineOf(k)
		path = JoinKey(path, string(k.Data))
		x.record(path, line)
	}
	x.value(path, kv.Value(), line, lineOf)
}

func (x *KeyLines) value(path string, v *unstable.Node, line int, lineOf func(*unstable.Node) int) {
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
			p := IndexKey(path, i)
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

func (x *KeyLines) record(path string, line int) {
	if line <= 0 {
		return
	}
	if _, ok := x.lines[path]; !ok {
		x.lines[path] = line
	}
	x.atLine[line] = append(x.atLine[line], path)
}

// Line returns the line of path, or of its nearest recorded ancestor.
func (x *KeyLines) Line(path string) int {
	x.build()
	for path != "" {
		if l, ok := x.lines[path]; ok {
			return l
		}
		path = ParentKey(path)
	}
	return 0
}

// Errorf builds an *Error located at path.
func (x *KeyLines) Errorf(path string, format string, args ...any) error {
	return &Error{File: x.file, Line: x.Line(path), Key: path, Err: fmt.Errorf(format, args...)}
}

// Wrap locates err at path, keeping an *Error that is already located.
func (x *KeyLines) Wrap(path string, err error) error {
	var located *Error
	if errors.As(err, &located) {
		return err
	}
	return &Error{File: x.file, Line: x.Line(path), Key: path, Err: err}
}

// DecodeError turns go-toml's errors into an *Error. go-toml knows the line
// but drops array indexes from the key, so the index is asked for the path
// with indexes that starts on that line.
func (x *KeyLines) DecodeError(err error) error {
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
		want = JoinKey(want, k)
	}
	// go-toml's key is relative to the table being filled for some errors
	// (a duplicate key) and absolute for others: match either way.
	key := want
	for _, p := range x.atLine[line] {
		if s := StripIndexes(p); want != "" && (s == want || strings.HasSuffix(s, "."+want)) {
			key = p
			break
		}
	}
	msg := strings.TrimPrefix(de.Error(), "toml: ")
	return &Error{File: x.file, Line: line, Key: key, Err: errors.New(msg)}
}

// JoinKey appends a key part, quoting it when it is not a bare TOML key.
func JoinKey(prefix, part string) string {
	if !IsBareKey(part) {
		part = strconv.Quote(part)
	}
	if prefix == "" {
		return part
	}
	return prefix + "." + part
}

// Quote writes s as a TOML basic string: '"' and '\\' escaped, the
// control characters TOML refuses raw (all but tab, and DEL) written with
// TOML's own escapes (\n, \u007F; never Go's \x, which TOML does not
// have), and every other character as it is. Invalid UTF-8, which no
// TOML string can hold, becomes U+FFFD: callers that must keep the bytes
// check utf8.ValidString first.
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f || r == utf8.RuneError {
				fmt.Fprintf(&b, `\u%04X`, r)
				continue
			}
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// IndexKey appends an array index to a path.
func IndexKey(prefix string, i int) string {
	return prefix + "[" + strconv.Itoa(i) + "]"
}

// IsBareKey reports whether s needs no quotes as a TOML key.
func IsBareKey(s string) bool {
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

// ParentKey drops the last part (a key or an index) of path.
func ParentKey(path string) string {
	parts := SplitPath(path)
	if len(parts) == 0 {
		return ""
	}
	return strings.TrimSuffix(path[:parts[len(parts)-1][0]], ".")
}

// StripIndexes removes every "[n]" part from path.
func StripIndexes(path string) string {
	var keys []string
	for _, p := range SplitPath(path) {
		if path[p[0]] != '[' {
			keys = append(keys, path[p[0]:p[1]])
		}
	}
	return strings.Join(keys, ".")
}

// SplitPath returns the [start, end) span of each part of path: a bare key,
// a quoted key (with Go escapes) or an index.
func SplitPath(path string) [][2]int {
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

// MaxErrors bounds how many problems one document reports: enough to fix a
// file in one pass, not so many that a garbage input floods the terminal.
const MaxErrors = 20

// Problems collects the errors found while reading a decoded document.
type Problems struct {
	X    *KeyLines
	errs []error
}

// Add records a problem, up to MaxErrors.
func (p *Problems) Add(err error) {
	if len(p.errs) < MaxErrors {
		p.errs = append(p.errs, err)
	}
}

// Addf records a problem located at path.
func (p *Problems) Addf(path, format string, args ...any) {
	p.Add(p.X.Errorf(path, format, args...))
}

// Err joins the problems recorded, or returns nil.
func (p *Problems) Err() error {
	return errors.Join(p.errs...)
}

// Table reads typed fields out of a table decoded by go-toml into
// map[string]any, reporting type errors at the key's line.
type Table struct {
	P    *Problems
	Path string
	M    map[string]any
}

// KeyPath returns the path of key inside the table.
func (t *Table) KeyPath(key string) string { return JoinKey(t.Path, key) }

// Has reports whether key is present.
func (t *Table) Has(key string) bool {
	_, ok := t.M[key]
	return ok
}

// WrongType reports a value of the wrong TOML type at path.
func (t *Table) WrongType(path string, want string, v any) {
	t.P.Addf(path, "expected %s, got %s", want, Describe(v))
}

// Str returns the string at key, or "" when it is absent.
func (t *Table) Str(key string) string {
	v, ok := t.M[key]
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		t.WrongType(t.KeyPath(key), "a string", v)
	}
	return s
}

// RequiredStr returns the non-empty string at key, reporting it when missing.
func (t *Table) RequiredStr(key string) string {
	if !t.Has(key) {
		t.P.Addf(t.KeyPath(key), "missing required key")
		return ""
	}
	s := t.Str(key)
	if s == "" && IsString(t.M[key]) {
		t.P.Addf(t.KeyPath(key), "must not be empty")
	}
	return s
}

// IsString reports whether a decoded value is a string.
func IsString(v any) bool {
	_, ok := v.(string)
	return ok
}

// Boolean returns the boolean at key, false when absent.
func (t *Table) Boolean(key string) bool {
	v, ok := t.M[key]
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		t.WrongType(t.KeyPath(key), "a boolean", v)
	}
	return b
}

// Integer returns the integer at key, 0 when absent.
func (t *Table) Integer(key string) int64 {
	v, ok := t.M[key]
	if !ok {
		return 0
	}
	n, ok := v.(int64)
	if !ok {
		t.WrongType(t.KeyPath(key), "an integer", v)
	}
	return n
}

// Strs returns the array of strings at key.
func (t *Table) Strs(key string) []string {
	v, ok := t.M[key]
	if !ok {
		return nil
	}
	return t.P.Strings(t.KeyPath(key), v)
}

// Strings reads an array of strings, reporting other values at path.
func (p *Problems) Strings(path string, v any) []string {
	arr, ok := v.([]any)
	if !ok {
		p.Addf(path, "expected an array of strings, got %s", Describe(v))
		return nil
	}
	out := make([]string, 0, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			p.Addf(IndexKey(path, i), "expected a string, got %s", Describe(e))
			continue
		}
		out = append(out, s)
	}
	return out
}

// Sub returns the table at key, or nil when it is absent or not a table.
func (t *Table) Sub(key string) *Table {
	v, ok := t.M[key]
	if !ok {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.WrongType(t.KeyPath(key), "a table", v)
		return nil
	}
	return &Table{P: t.P, Path: t.KeyPath(key), M: m}
}

// Tables returns the array of tables at key.
func (t *Table) Tables(key string) []*Table {
	v, ok := t.M[key]
	if !ok {
		return nil
	}
	path := t.KeyPath(key)
	arr, ok := AsArray(v)
	if !ok {
		t.WrongType(path, "an array of tables", v)
		return nil
	}
	out := make([]*Table, 0, len(arr))
	for i, e := range arr {
		m, ok := e.(map[string]any)
		if !ok {
			t.WrongType(IndexKey(path, i), "a table", e)
			continue
		}
		out = append(out, &Table{P: t.P, Path: IndexKey(path, i), M: m})
	}
	return out
}

// ReadTables reads each table of the array of tables at key with read, in
// order: nil when there is none.
func ReadTables[T any](t *Table, key string, read func(*Table) T) []T {
	var out []T
	for _, st := range t.Tables(key) {
		out = append(out, read(st))
	}
	return out
}

// ReadTable reads the table at key with read: nil when it is absent, and
// when it is not a table (Sub reports that).
func ReadTable[T any](t *Table, key string, read func(*Table) T) *T {
	st := t.Sub(key)
	if st == nil {
		return nil
	}
	v := read(st)
	return &v
}

// AsArray accepts both inline arrays and [[array tables]], which go-toml
// decodes to different Go types.
func AsArray(v any) ([]any, bool) {
	switch a := v.(type) {
	case []any:
		return a, true
	case []map[string]any:
		out := make([]any, len(a))
		for i := range a {
			out[i] = a[i]
		}
		return out, true
	}
	return nil, false
}

// Datetime returns the offset date-time at key. A local date-time is read as
// UTC rather than in the machine's zone, so that a lock means the same thing
// everywhere.
func (t *Table) Datetime(key string) time.Time {
	v, ok := t.M[key]
	if !ok {
		return time.Time{}
	}
	switch d := v.(type) {
	case time.Time:
		return d
	case toml.LocalDateTime:
		return d.AsTime(time.UTC)
	}
	t.WrongType(t.KeyPath(key), "a datetime", v)
	return time.Time{}
}

// Describe names the TOML type of a decoded value for error messages.
func Describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("string %q", x)
	case int64:
		return fmt.Sprintf("integer %d", x)
	case float64:
		return fmt.Sprintf("float %v", x)
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case time.Time:
		return "datetime " + x.Format(time.RFC3339Nano)
	case toml.LocalDateTime:
		return "local datetime " + x.String()
	case toml.LocalDate:
		return "local date " + x.String()
	case toml.LocalTime:
		return "local time " + x.String()
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("%T", v)
}
