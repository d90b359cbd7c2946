package pypitest

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
)

// WheelEdit says how RewriteWheel changes a wheel.
type WheelEdit struct {
	// Member, when not nil, gives each member's new content (RECORD's
	// aside).
	Member func(name string, b []byte) []byte
	// Add are members added after the wheel's own (name → content), in
	// order of name.
	Add map[string]string
	// StaleRecord keeps the wheel's RECORD as it was, so that what was
	// edited or added does not match it. Otherwise RECORD is written
	// again, last, listing every member with its hash, as a wheel built
	// so would be.
	StaleRecord bool
}

// RewriteWheel returns a copy of the wheel data changed as e says: a
// wheel a test needs that no Release builds (a hostile member, a header
// twice, a file changed after RECORD was written).
func RewriteWheel(data []byte, e WheelEdit) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("rewriting a wheel: %w", err)
	}
	var members []member
	var rec member
	for _, f := range zr.File {
		b, err := fs.ReadFile(zr, f.Name)
		if err != nil {
			return nil, fmt.Errorf("rewriting a wheel: %w", err)
		}
		if strings.HasSuffix(f.Name, ".dist-info/RECORD") {
			rec = member{name: f.Name, data: b}
			continue
		}
		if e.Member != nil {
			b = e.Member(f.Name, b)
		}
		members = append(members, member{name: f.Name, data: b})
	}
	if rec.name == "" {
		return nil, fmt.Errorf("rewriting a wheel: no .dist-info/RECORD")
	}
	for _, name := range slices.Sorted(maps.Keys(e.Add)) {
		members = append(members, member{name: name, data: []byte(e.Add[name])})
	}
	if !e.StaleRecord {
		rec.data = record(members, rec.name)
	}
	return writeZip(append(members, rec))
}
