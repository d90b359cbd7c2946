package pypitest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"strings"
)

// apiVersion is the simple API version served: 1.1 adds "versions", "size"
// and "upload-time" (PEP 700).
const apiVersion = "1.1"

// entry is one file as a project page lists it, after the knobs.
type entry struct {
	f            *File
	url          string
	sha256       string
	metadataHash string // "" when metadata is withheld
}

func newEntry(f *File, k knobs) entry {
	e := entry{f: f, url: "../../files/" + url.PathEscape(f.Filename), sha256: f.SHA256}
	if k.wrongHash[f.Filename] {
		e.sha256 = wrongDigest(f.SHA256)
	}
	if hasMetadata(f, k) {
		e.metadataHash = f.MetadataSHA256
		if k.wrongHash[f.Filename+".metadata"] {
			e.metadataHash = wrongDigest(f.MetadataSHA256)
		}
	}
	return e
}

// wrongDigest is a well-formed sha256 that is certainly not digest.
func wrongDigest(digest string) string {
	sum := sha256.Sum256([]byte("pypitest wrong hash\x00" + digest))
	return hex.EncodeToString(sum[:])
}

const htmlHead = "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"" + apiVersion + "\">\n"

func rootHTML(c *catalog) []byte {
	var b strings.Builder
	b.WriteString(htmlHead)
	b.WriteString("    <title>Simple index</title>\n  </head>\n  <body>\n")
	for _, n := range c.names {
		fmt.Fprintf(&b, "    <a href=\"%s/\">%s</a><br/>\n", url.PathEscape(n), html.EscapeString(c.projects[n].Name))
	}
	b.WriteString("  </body>\n</html>\n")
	return []byte(b.String())
}

type jsonMeta struct {
	APIVersion string `json:"api-version"`
}

func rootJSON(c *catalog) []byte {
	type project struct {
		Name string `json:"name"`
	}
	doc := struct {
		Meta     jsonMeta  `json:"meta"`
		Projects []project `json:"projects"`
	}{Meta: jsonMeta{apiVersion}, Projects: []project{}}
	for _, n := range c.names {
		doc.Projects = append(doc.Projects, project{c.projects[n].Name})
	}
	return marshal(doc)
}

func projectHTML(norm string, entries []entry) []byte {
	var b strings.Builder
	b.WriteString(htmlHead)
	fmt.Fprintf(&b, "    <title>Links for %s</title>\n  </head>\n  <body>\n    <h1>Links for %s</h1>\n", html.EscapeString(norm), html.EscapeString(norm))
	for _, e := range entries {
		fmt.Fprintf(&b, "    <a href=\"%s#sha256=%s\"", html.EscapeString(e.url), e.sha256)
		if e.f.RequiresPython != "" {
			fmt.Fprintf(&b, " data-requires-python=\"%s\"", html.EscapeString(e.f.RequiresPython))
		}
		switch e.f.Yanked {
		case "":
		case YankedNoReason:
			b.WriteString(" data-yanked=\"\"")
		default:
			fmt.Fprintf(&b, " data-yanked=\"%s\"", html.EscapeString(e.f.Yanked))
		}
		if e.metadataHash != "" {
			// Both spellings: PEP 714 renamed the attribute, and clients
			// older than the rename read only the first.
			fmt.Fprintf(&b, " data-dist-info-metadata=\"sha256=%s\" data-core-metadata=\"sha256=%s\"", e.metadataHash, e.metadataHash)
		}
		fmt.Fprintf(&b, ">%s</a><br/>\n", html.EscapeString(e.f.Filename))
	}
	b.WriteString("  </body>\n</html>\n")
	return []byte(b.String())
}

type jsonFile struct {
	Filename       string            `json:"filename"`
	URL            string            `json:"url"`
	Hashes         map[string]string `json:"hashes"`
	RequiresPython *string           `json:"requires-python,omitempty"`
	Yanked         any               `json:"yanked"`
	CoreMetadata   map[string]string `json:"core-metadata,omitempty"`
	Size           int               `json:"size"`
	UploadTime     string            `json:"upload-time"`
}

func projectJSON(norm string, versions []string, entries []entry) []byte {
	doc := struct {
		Meta     jsonMeta   `json:"meta"`
		Name     string     `json:"name"`
		Versions []string   `json:"versions"`
		Files    []jsonFile `json:"files"`
	}{Meta: jsonMeta{apiVersion}, Name: norm, Versions: append([]string{}, versions...), Files: []jsonFile{}}
	for _, e := range entries {
		jf := jsonFile{
			Filename:   e.f.Filename,
			URL:        e.url,
			Hashes:     map[string]string{"sha256": e.sha256},
			Yanked:     false,
			Size:       e.f.Size,
			UploadTime: e.f.UploadTime.UTC().Format("2006-01-02T15:04:05.000000Z"),
		}
		if e.f.RequiresPython != "" {
			rp := e.f.RequiresPython
			jf.RequiresPython = &rp
		}
		switch e.f.Yanked {
		case "":
		case YankedNoReason:
			jf.Yanked = true
		default:
			jf.Yanked = e.f.Yanked
		}
		// Only the PEP 714 name: pip 22.3 to 23.1 crash on any value of
		// the old "dist-info-metadata" key, and PEP 714 forbids it in JSON.
		// Absent rather than false when withheld, for the same pips.
		if e.metadataHash != "" {
			jf.CoreMetadata = map[string]string{"sha256": e.metadataHash}
		}
		doc.Files = append(doc.Files, jf)
	}
	return marshal(doc)
}

func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	// Specifiers such as "<3" read better unescaped, and JSON allows it.
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		// Only strings, numbers, booleans and maps of strings get here.
		return fmt.Appendf(nil, "{\"error\": %q}\n", err.Error())
	}
	return b.Bytes()
}
