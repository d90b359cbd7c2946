package pylock

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/larder-build/larder/resolver/tomldoc"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/larder-build/larder/resolver/pep440"
	toml "github.com/pelletier/go-toml/v2"
)

// lineWidth is the width under which an array of strings stays on one line.
const lineWidth = 100

// Encode validates l and writes it as TOML. The output depends only on the
// lock's content: packages are sorted by name then version, wheels by file
// name, hashes and tool keys by key; files and dependencies are inline
// tables, one per line; tool tables are written as [packages.tool.NAME]
// sections. Encode does not modify l.
func (l *Lock) Encode(w io.Writer) error {
	if err := l.Validate(); err != nil {
		return fmt.Errorf("encoding lock: %w", err)
	}
	var e encoder
	e.lock(l)
	if e.err != nil {
		return fmt.Errorf("encoding lock: %w", e.err)
	}
	if _, err := w.Write(e.buf.Bytes()); err != nil {
		return fmt.Errorf("writing lock: %w", err)
	}
	return nil
}

// tempPattern is the os.CreateTemp pattern a lock named base is staged
// under: "."+base+"."+digits+".tmp", which says whose it is, when that
// fits the 255 bytes of a file name (os.CreateTemp puts up to 10 digits
// in place of the "*"), else ".pylock-"+digits+".tmp".
func tempPattern(base string) string {
	if len(".")+len(base)+len(".")+10+len(".tmp") <= 255 {
		return "." + base + ".*.tmp"
	}
	return ".pylock-*.tmp"
}

// WriteFile encodes l to path atomically: it writes a temporary file in the
// same folder, syncs it and renames it over path, so a reader sees the old
// lock or the new one, never a torn one.
func WriteFile(path string, l *Lock) (err error) {
	var buf bytes.Buffer
	if err := l.Encode(&buf); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, tempPattern(filepath.Base(path)))
	if err != nil {
		return fmt.Errorf("writing lock: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("writing lock: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("writing lock: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("syncing lock: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing lock: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("renaming lock into place: %w", err)
	}
	// Sync the folder so the rename itself survives a crash; not every
	// file system supports it, and the data is already safe.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

type encoder struct {
	buf bytes.Buffer
	err error
}

func (e *encoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

func (e *encoder) printf(format string, args ...any) {
	fmt.Fprintf(&e.buf, format, args...)
}

func (e *encoder) lock(l *Lock) {
	e.printf("lock-version = %s\n", e.str(l.LockVersion))
	e.strArray("environments", l.Environments)
	e.optStr("requires-python", l.RequiresPython)
	e.strArray("extras", l.Extras)
	e.strArray("dependency-groups", l.DependencyGroups)
	e.strArray("default-groups", l.DefaultGroups)
	e.optStr("created-by", l.CreatedBy)

	// Each package is rendered on its own first.
	blocks := sortedTexts(l.Packages, func(p Package) string {
		var pe encoder
		pe.pkg(&p)
		e.fail(pe.err)
		return pe.buf.String()
	}, func(a, b Package) int { return byNameVersion(a.Name, a.Version, b.Name, b.Version) })
	for _, b := range blocks {
		e.buf.WriteString("\n")
		e.buf.WriteString(b)
	}
	if !l.Tool.empty() {
		e.tool("tool", l.Tool)
	}
}

func (e *encoder) pkg(p *Package) {
	e.printf("[[packages]]\n")
	e.printf("name = %s\n", e.str(p.Name))
	e.optStr("version", p.Version)
	e.optStr("marker", p.Marker)
	e.optStr("requires-python", p.RequiresPython)
	if len(p.Dependencies) > 0 {
		e.lines("dependencies", sortedTexts(p.Dependencies, e.dependency, func(a, b Dependency) int {
			return byNameVersion(a.Name, a.Version, b.Name, b.Version)
		}))
	}
	e.optStr("index", p.Index)
	if v := p.VCS; v != nil {
		e.printf("vcs = %s\n", e.inline([]entry{
			{"type", v.Type}, {"url", v.URL}, {"path", v.Path},
			{"requested-revision", v.RequestedRevision}, {"commit-id", v.CommitID},
			{"subdirectory", v.Subdirectory},
		}))
	}
	if d := p.Directory; d != nil {
		e.printf("directory = %s\n", e.inline([]entry{
			{"path", d.Path}, {"editable", d.Editable}, {"subdirectory", d.Subdirectory},
		}))
	}
	if a := p.Archive; a != nil {
		e.printf("archive = %s\n", e.inline([]entry{
			{"url", a.URL}, {"path", a.Path}, {"size", a.Size}, {"upload-time", a.UploadTime},
			{"hashes", a.Hashes}, {"subdirectory", a.Subdirectory},
		}))
	}
	if p.Sdist != nil {
		e.printf("sdist = %s\n", e.file(*p.Sdist))
	}
	if len(p.Wheels) > 0 {
		e.lines("wheels", sortedTexts(p.Wheels, e.file, func(a, b File) int {
			return strings.Compare(a.FileName(), b.FileName())
		}))
	}
	if len(p.AttestationIdentities) > 0 {
		ids := make([]string, len(p.AttestationIdentities))
		for i, a := range p.AttestationIdentities {
			ids[i] = e.inline(append([]entry{{"kind", a.Kind}}, sortedEntries(a.Other)...))
		}
		e.lines("attestation-identities", ids)
	}
	if !p.Tool.empty() {
		e.tool("packages.tool", p.Tool)
	}
}

func (e *encoder) dependency(d Dependency) string {
	return e.inline(append([]entry{{"name", d.Name}, {"version", d.Version}}, sortedEntries(d.Other)...))
}

// sortedTexts renders each of vs and returns the texts in the order of
// cmp, then of the texts themselves: the rendering is the last tie-breaker
// of every sort, so that orders are total.
func sortedTexts[T any](vs []T, render func(T) string, cmp func(a, b T) int) []string {
	type rendered struct {
		v    T
		text string
	}
	rs := make([]rendered, len(vs))
	for i, v := range vs {
		rs[i] = rendered{v, render(v)}
	}
	slices.SortFunc(rs, func(a, b rendered) int {
		if c := cmp(a.v, b.v); c != 0 {
			return c
		}
		return strings.Compare(a.text, b.text)
	})
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.text
	}
	return out
}

// byNameVersion orders packages and dependencies by name, then version.
func byNameVersion(aName, aVersion, bName, bVersion string) int {
	if c := strings.Compare(aName, bName); c != 0 {
		return c
	}
	return compareVersions(aVersion, bVersion)
}

func (e *encoder) file(f File) string {
	return e.inline([]entry{
		{"name", f.Name}, {"upload-time", f.UploadTime}, {"url", f.URL}, {"path", f.Path},
		{"size", f.Size}, {"hashes", f.Hashes},
	})
}

func (e *encoder) optStr(key, s string) {
	if s != "" {
		e.printf("%s = %s\n", key, e.str(s))
	}
}

// strArray writes a string array on one line when it fits, else one element
// per line.
func (e *encoder) strArray(key string, items []string) {
	if len(items) == 0 {
		return
	}
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = e.str(s)
	}
	e.array(key, quoted)
}

func (e *encoder) array(key string, items []string) {
	one := "[" + strings.Join(items, ", ") + "]"
	if len(key)+3+len(one) <= lineWidth {
		e.printf("%s = %s\n", key, one)
		return
	}
	e.lines(key, items)
}

// lines writes an array with one element per line.
func (e *encoder) lines(key string, items []string) {
	e.printf("%s = [\n", tomlKey(key))
	for _, it := range items {
		e.printf("    %s,\n", it)
	}
	e.printf("]\n")
}

// entry is a key and value of a table being written.
type entry struct {
	key   string
	value any
}

func sortedEntries(m map[string]any) []entry {
	keys := slices.Sorted(maps.Keys(m))
	out := make([]entry, len(keys))
	for i, k := range keys {
		out[i] = entry{k, m[k]}
	}
	return out
}

// inline renders entries as an inline table, leaving out the zero values of
// the typed fields (empty strings, false, 0, zero times, nil hashes).
func (e *encoder) inline(entries []entry) string {
	parts := make([]string, 0, len(entries))
	for _, en := range entries {
		if isOmitted(en.value) {
			continue
		}
		parts = append(parts, tomlKey(en.key)+" = "+e.value(en.value))
	}
	if len(parts) == 0 {
		return "{}"
	}
	return "{ " + strings.Join(parts, ", ") + " }"
}

func isOmitted(v any) bool {
	switch x := v.(type) {
	case string:
		return x == ""
	case bool:
		return !x
	case int64:
		return x == 0
	case time.Time:
		return x.IsZero()
	case Hashes:
		return x == nil
	}
	return false
}

// tool writes a [tool] table as sections under prefix.
func (e *encoder) tool(prefix string, t Tool) {
	entries := sortedEntries(t.Other)
	if t.Larder != nil {
		if _, ok := t.Other["larder"]; ok {
			e.fail(fmt.Errorf("%s: both Larder and Other[\"larder\"] are set", prefix))
		}
		entries = append(entries, entry{"larder", larderEntries(t.Larder)})
		sort.SliceStable(entries, func(i, j int) bool { return entries[i].key < entries[j].key })
	}
	e.table(prefix, entries)
}

func larderEntries(l *LarderTool) []entry {
	var out []entry
	if len(l.Targets) > 0 {
		out = append(out, entry{"targets", l.Targets})
	}
	if l.Private {
		out = append(out, entry{"private", true})
	}
	if len(l.Via) > 0 {
		out = append(out, entry{"via", l.Via})
	}
	if l.Build != "" {
		out = append(out, entry{"build", l.Build})
	}
	if l.Unpinned {
		out = append(out, entry{"unpinned", true})
	}
	return append(out, sortedEntries(l.Other)...)
}

// table writes a [header] section: its plain keys first, then its subtables
// as further sections. A header with only subtables is left implicit.
func (e *encoder) table(header string, entries []entry) {
	var plain, subs []entry
	for _, en := range entries {
		if _, ok := tableEntries(en.value); ok {
			subs = append(subs, en)
		} else {
			plain = append(plain, en)
		}
	}
	if len(plain) > 0 || len(subs) == 0 {
		e.printf("\n[%s]\n", header)
	}
	for _, en := range plain {
		v := e.value(en.value)
		if strings.HasPrefix(v, "[") && len(tomlKey(en.key))+3+len(v) > lineWidth {
			if items, ok := arrayItems(en.value); ok {
				rendered := make([]string, len(items))
				for i, it := range items {
					rendered[i] = e.value(it)
				}
				e.lines(en.key, rendered)
				continue
			}
		}
		e.printf("%s = %s\n", tomlKey(en.key), v)
	}
	for _, en := range subs {
		sub, _ := tableEntries(en.value)
		e.table(header+"."+tomlKey(en.key), sub)
	}
}

// tableEntries returns the entries of a table value: a map with string keys
// or the typed larder table.
func tableEntries(v any) ([]entry, bool) {
	if es, ok := v.([]entry); ok {
		return es, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Map || rv.Type().Key().Kind() != reflect.String {
		return nil, false
	}
	keys := make([]string, 0, rv.Len())
	for _, k := range rv.MapKeys() {
		keys = append(keys, k.String())
	}
	sort.Strings(keys)
	out := make([]entry, len(keys))
	for i, k := range keys {
		out[i] = entry{k, rv.MapIndex(reflect.ValueOf(k).Convert(rv.Type().Key())).Interface()}
	}
	return out, true
}

func arrayItems(v any) ([]any, bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, false
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}

var (
	timeType          = reflect.TypeOf(time.Time{})
	localDateType     = reflect.TypeOf(toml.LocalDate{})
	localTimeType     = reflect.TypeOf(toml.LocalTime{})
	localDateTimeType = reflect.TypeOf(toml.LocalDateTime{})
)

// value renders any value as inline TOML: the decoded forms go-toml gives
// (string, int64, float64, bool, times, []any, map[string]any) and the Go
// types a program may put in a tool table (other ints, slices, maps).
func (e *encoder) value(v any) string {
	switch x := v.(type) {
	case string:
		return e.str(x)
	case time.Time:
		return formatTime(x)
	case Hashes:
		return e.inline(sortedEntries(hashesAsMap(x)))
	case []entry:
		return e.inline(x)
	case nil:
		e.fail(errors.New("cannot encode a nil value"))
		return `""`
	}
	rv := reflect.ValueOf(v)
	switch rv.Type() {
	case localDateType, localTimeType, localDateTimeType:
		return fmt.Sprint(v)
	}
	switch rv.Kind() {
	case reflect.String:
		return e.str(rv.String())
	case reflect.Bool:
		return strconv.FormatBool(rv.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if rv.Uint() > math.MaxInt64 {
			e.fail(fmt.Errorf("cannot encode integer %d: larger than TOML allows", rv.Uint()))
		}
		return strconv.FormatUint(rv.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return formatFloat(rv.Float())
	case reflect.Slice, reflect.Array:
		items, _ := arrayItems(v)
		parts := make([]string, len(items))
		for i, it := range items {
			parts[i] = e.value(it)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case reflect.Map:
		if es, ok := tableEntries(v); ok {
			parts := make([]string, len(es))
			for i, en := range es {
				parts[i] = tomlKey(en.key) + " = " + e.value(en.value)
			}
			if len(parts) == 0 {
				return "{}"
			}
			return "{ " + strings.Join(parts, ", ") + " }"
		}
	case reflect.Pointer, reflect.Interface:
		if !rv.IsNil() {
			return e.value(rv.Elem().Interface())
		}
		e.fail(errors.New("cannot encode a nil value"))
		return `""`
	}
	if rv.Type() == timeType {
		return formatTime(rv.Interface().(time.Time))
	}
	e.fail(fmt.Errorf("cannot encode a value of type %T", v))
	return `""`
}

func hashesAsMap(h Hashes) map[string]any {
	m := make(map[string]any, len(h))
	for k, v := range h {
		m[k] = v
	}
	return m
}

// formatTime writes an offset date-time; a UTC time ends in "Z".
func formatTime(t time.Time) string {
	return t.Format(time.RFC3339Nano)
}

// formatFloat writes the shortest form that reads back to the same float,
// always with a fraction or exponent so that it stays a TOML float.
func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// str writes s as a TOML basic string.
func (e *encoder) str(s string) string {
	if !utf8.ValidString(s) {
		e.fail(fmt.Errorf("cannot encode %q: not valid UTF-8", s))
	}
	return tomldoc.Quote(s)
}

// tomlKey writes k bare when TOML allows it, else quoted.
func tomlKey(k string) string {
	if tomldoc.IsBareKey(k) {
		return k
	}
	return tomldoc.Quote(k)
}

// compareVersions orders versions by PEP 440, or naturally (runs of digits
// as numbers, other runs as text) when one of them does not parse.
func compareVersions(a, b string) int {
	if va, err := pep440.Parse(a); err == nil {
		if vb, err := pep440.Parse(b); err == nil {
			if c := pep440.Compare(va, vb); c != 0 {
				return c
			}
			return strings.Compare(a, b) // "1.0" and "1.0.0" are equal versions
		}
	}
	for a != "" && b != "" {
		ra, restA := versionRun(a)
		rb, restB := versionRun(b)
		if c := compareRuns(ra, rb); c != 0 {
			return c
		}
		a, b = restA, restB
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	}
	return 1
}

func versionRun(s string) (run, rest string) {
	digit := s[0] >= '0' && s[0] <= '9'
	i := 1
	for i < len(s) && (s[i] >= '0' && s[i] <= '9') == digit {
		i++
	}
	return s[:i], s[i:]
}

func compareRuns(a, b string) int {
	ad := a[0] >= '0' && a[0] <= '9'
	bd := b[0] >= '0' && b[0] <= '9'
	if ad && bd {
		a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
		if len(a) != len(b) {
			if len(a) < len(b) {
				return -1
			}
			return 1
		}
	}
	return strings.Compare(a, b)
}
