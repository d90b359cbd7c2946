package wheelhouse

import (
	"fmt"
	"strconv"

	"github.com/larder-build/larder/resolver/simple"
)

// appendManifest appends the manifest of files (sorted) as
// json.MarshalIndent(manifest{...}, "", "  ") writes it, byte for byte
// (a test holds it to that), without marshalling through reflection and
// then scanning the result again to indent it: a bake makes an image's
// manifest at every refresh, and MarshalIndent took most of the time of
// making its index.
func appendManifest(b []byte, files []Entry) ([]byte, error) {
	b = append(b, "{\n  \"version\": "...)
	b = strconv.AppendInt(b, manifestVersion, 10)
	b = append(b, ",\n  \"files\": "...)
	if len(files) == 0 {
		return append(b, "[]\n}"...), nil
	}
	b = append(b, '[')
	for i := range files {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendEntry(b, &files[i]); err != nil {
			return nil, err
		}
	}
	return append(b, "\n  ]\n}"...), nil
}

// appendEntry appends one entry of the files array, opened on a new line
// at its depth.
func appendEntry(b []byte, e *Entry) ([]byte, error) {
	const in = "\n      " // a field of the entry
	b = append(b, "\n    {"...)
	b = appendField(b, in, "filename", e.Filename)
	b = appendField(b, in, "project", e.Project)
	b = appendField(b, in, "version", e.Version)
	b = appendField(b, in, "sha256", e.SHA256)
	b = append(b, in+`"size": `...)
	b = strconv.AppendInt(b, e.Size, 10)
	b = append(b, ',')
	if e.MetadataSHA256 != "" {
		b = appendField(b, in, "metadata_sha256", e.MetadataSHA256)
	}
	if e.RequiresPython != "" {
		b = appendField(b, in, "requires_python", e.RequiresPython)
	}
	if !e.UploadTime.IsZero() {
		t, err := e.UploadTime.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("%s: upload time: %w", e.Filename, err)
		}
		b = append(b, in+`"upload_time": `...)
		b = append(b, t...)
		b = append(b, ',')
	}
	b = append(b, in+`"origin": {`...)
	const oin = "\n        " // a field of the origin
	o := &e.Origin
	b = append(b, oin+`"kind": `...)
	b = appendString(b, o.Kind)
	for _, f := range [...]struct{ key, val string }{
		{"url", o.URL}, {"index", o.Index}, {"commit", o.Commit},
		{"sdist", o.Sdist}, {"sdist_sha256", o.SdistSHA256}, {"uploader", o.Uploader},
	} {
		if f.val != "" {
			b = append(b, ',')
			b = append(b, oin...)
			b = appendString(b, f.key)
			b = append(b, ": "...)
			b = appendString(b, f.val)
		}
	}
	b = append(b, in+"}"...)
	if len(e.Targets) > 0 {
		b = append(b, ","+in+`"targets": [`...)
		for i, t := range e.Targets {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, in+"  "...)
			b = appendString(b, t)
		}
		b = append(b, in+"]"...)
	}
	if e.Private {
		b = append(b, ","+in+`"private": true`...)
	}
	return append(b, "\n    }"...), nil
}

// appendField appends `"key": "val",` on a new line at the depth in says.
func appendField(b []byte, in, key, val string) []byte {
	b = append(b, in...)
	b = appendString(b, key)
	b = append(b, ": "...)
	b = appendString(b, val)
	return append(b, ',')
}

// appendString appends s as encoding/json writes a string, HTML escapes
// and all.
func appendString(b []byte, s string) []byte { return simple.AppendJSONString(b, s, true) }
