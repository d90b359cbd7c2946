package pyproject

// This file is shared by resolver/pyproject, resolver/pylock and
// resolver/uvlock (see keylines.go).

import (
	"errors"
	"fmt"
	"time"

	toml "github.com/pelletier/go-toml/v2"
)

// maxErrors bounds how many problems one document reports: enough to fix a
// file in one pass, not so many that a garbage input floods the terminal.
const maxErrors = 20

// problems collects the errors found while reading a decoded document.
type problems struct {
	x    *keyLines
	errs []error
}

func (p *problems) add(err error) {
	if len(p.errs) < maxErrors {
		p.errs = append(p.errs, err)
	}
}

func (p *problems) addf(path, format string, args ...any) {
	p.add(p.x.errorf(path, format, args...))
}

func (p *problems) err() error {
	return errors.Join(p.errs...)
}

// table reads typed fields out of a table decoded by go-toml into
// map[string]any, reporting type errors at the key's line.
type table struct {
	p    *problems
	path string
	m    map[string]any
}

func (t *table) keyPath(key string) string { return joinKey(t.path, key) }

func (t *table) has(key string) bool {
	_, ok := t.m[key]
	return ok
}

func (t *table) wrongType(path string, want string, v any) {
	t.p.addf(path, "expected %s, got %s", want, describe(v))
}

// str returns the string at key, or "" when it is absent.
func (t *table) str(key string) string {
	v, ok := t.m[key]
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		t.wrongType(t.keyPath(key), "a string", v)
	}
	return s
}

// requiredStr returns the non-empty string at key, reporting it when missing.
func (t *table) requiredStr(key string) string {
	if !t.has(key) {
		t.p.addf(t.keyPath(key), "missing required key")
		return ""
	}
	s := t.str(key)
	if s == "" && isString(t.m[key]) {
		t.p.addf(t.keyPath(key), "must not be empty")
	}
	return s
}

func isString(v any) bool {
	_, ok := v.(string)
	return ok
}

func (t *table) boolean(key string) bool {
	v, ok := t.m[key]
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		t.wrongType(t.keyPath(key), "a boolean", v)
	}
	return b
}

// strs returns the array of strings at key.
func (t *table) strs(key string) []string {
	v, ok := t.m[key]
	if !ok {
		return nil
	}
	return t.p.strings(t.keyPath(key), v)
}

func (p *problems) strings(path string, v any) []string {
	arr, ok := v.([]any)
	if !ok {
		p.addf(path, "expected an array of strings, got %s", describe(v))
		return nil
	}
	out := make([]string, 0, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			p.addf(indexKey(path, i), "expected a string, got %s", describe(e))
			continue
		}
		out = append(out, s)
	}
	return out
}

// sub returns the table at key, or nil when it is absent or not a table.
func (t *table) sub(key string) *table {
	v, ok := t.m[key]
	if !ok {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.wrongType(t.keyPath(key), "a table", v)
		return nil
	}
	return &table{p: t.p, path: t.keyPath(key), m: m}
}

// tables returns the array of tables at key.
func (t *table) tables(key string) []*table {
	v, ok := t.m[key]
	if !ok {
		return nil
	}
	path := t.keyPath(key)
	arr, ok := asArray(v)
	if !ok {
		t.wrongType(path, "an array of tables", v)
		return nil
	}
	out := make([]*table, 0, len(arr))
	for i, e := range arr {
		m, ok := e.(map[string]any)
		if !ok {
			t.wrongType(indexKey(path, i), "a table", e)
			continue
		}
		out = append(out, &table{p: t.p, path: indexKey(path, i), m: m})
	}
	return out
}

// asArray accepts both inline arrays and [[array tables]], which go-toml
// decodes to different Go types.
func asArray(v any) ([]any, bool) {
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

// describe names the TOML type of a decoded value for error messages.
func describe(v any) string {
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
