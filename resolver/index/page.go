package index

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// File is one distribution file listed on a project page.
type File struct {
	Filename       string
	URL            string            // absolute, without the hash fragment
	Hashes         map[string]string // algorithm -> lowercase hex digest
	RequiresPython string
	Yanked         bool
	YankedReason   string
	// CoreMetadata reports that URL+".metadata" serves the file's core
	// metadata (PEP 658/714); MetadataHashes may hold its digests.
	CoreMetadata   bool
	MetadataHashes map[string]string
	Size           int64 // -1 when the index does not say
	UploadTime     time.Time
}

// SHA256 returns the file's sha256 digest, or "" when the index gave none.
func (f File) SHA256() string { return f.Hashes["sha256"] }

// Page is the listing of one project on one index.
type Page struct {
	Name     string // as the index spells it
	Index    string // the index URL that served it
	URL      string // the page URL after redirects
	Files    []File
	Versions []string // PEP 700; may be empty
}

// MalformedError reports an index page that cannot be understood.
type MalformedError struct {
	URL string
	Err error
}

func (e *MalformedError) Error() string {
	return fmt.Sprintf("malformed index page %s: %v", e.URL, e.Err)
}

func (e *MalformedError) Unwrap() error { return e.Err }

// Media types of the simple API.
const (
	mediaJSON = "application/vnd.pypi.simple.v1+json"
	mediaHTML = "application/vnd.pypi.simple.v1+html"
	// acceptHeader prefers JSON, as pip and uv do.
	acceptHeader = mediaJSON + ", " + mediaHTML + ";q=0.2, text/html;q=0.01"
)

// parsePage decodes a project page by its content type.
func parsePage(pageURL, contentType string, body []byte) (*Page, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil && contentType != "" {
		return nil, &MalformedError{pageURL, fmt.Errorf("content type %q: %w", contentType, err)}
	}
	var p *Page
	switch mt {
	case mediaJSON:
		p, err = parseJSON(pageURL, body)
	case mediaHTML, "text/html", "":
		p, err = parseHTML(pageURL, body)
	default:
		err = fmt.Errorf("unexpected content type %q (want %s or text/html)", mt, mediaJSON)
	}
	if err != nil {
		return nil, &MalformedError{pageURL, err}
	}
	p.URL = pageURL
	return p, nil
}

// jsonPage is PEP 691's project detail response.
type jsonPage struct {
	Meta struct {
		APIVersion string `json:"api-version"`
	} `json:"meta"`
	Name     string     `json:"name"`
	Files    []jsonFile `json:"files"`
	Versions []string   `json:"versions"`
}

type jsonFile struct {
	Filename       string            `json:"filename"`
	URL            string            `json:"url"`
	Hashes         map[string]string `json:"hashes"`
	RequiresPython *string           `json:"requires-python"`
	Yanked         json.RawMessage   `json:"yanked"`
	CoreMetadata   json.RawMessage   `json:"core-metadata"`
	DistInfoMeta   json.RawMessage   `json:"dist-info-metadata"`
	Size           *int64            `json:"size"`
	UploadTime     string            `json:"upload-time"`
}

func parseJSON(pageURL string, body []byte) (*Page, error) {
	var jp jsonPage
	if err := json.Unmarshal(body, &jp); err != nil {
		return nil, fmt.Errorf("decoding JSON: %w", err)
	}
	major, _, _ := strings.Cut(jp.Meta.APIVersion, ".")
	if major != "1" {
		return nil, fmt.Errorf("api-version %q is not supported (want 1.x)", jp.Meta.APIVersion)
	}
	base, err := url.Parse(pageURL)
	if err != nil {
		return nil, err
	}
	p := &Page{Name: jp.Name, Versions: jp.Versions}
	for i, jf := range jp.Files {
		if jf.Filename == "" || jf.URL == "" {
			return nil, fmt.Errorf("files[%d]: filename and url are required", i)
		}
		f := File{Filename: jf.Filename, Hashes: lowerHashes(jf.Hashes), Size: -1}
		if f.URL, err = resolveURL(base, jf.URL); err != nil {
			return nil, fmt.Errorf("files[%d] %s: %w", i, jf.Filename, err)
		}
		if jf.RequiresPython != nil {
			f.RequiresPython = *jf.RequiresPython
		}
		if f.Yanked, f.YankedReason, err = boolOrString(jf.Yanked); err != nil {
			return nil, fmt.Errorf("files[%d] %s: yanked: %w", i, jf.Filename, err)
		}
		meta := jf.CoreMetadata
		if len(meta) == 0 {
			meta = jf.DistInfoMeta
		}
		if f.CoreMetadata, f.MetadataHashes, err = boolOrHashes(meta); err != nil {
			return nil, fmt.Errorf("files[%d] %s: core-metadata: %w", i, jf.Filename, err)
		}
		if jf.Size != nil {
			f.Size = *jf.Size
		}
		if jf.UploadTime != "" {
			if f.UploadTime, err = time.Parse(time.RFC3339Nano, jf.UploadTime); err != nil {
				return nil, fmt.Errorf("files[%d] %s: upload-time: %w", i, jf.Filename, err)
			}
		}
		p.Files = append(p.Files, f)
	}
	return p, nil
}

func boolOrString(raw json.RawMessage) (bool, string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return false, "", nil
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return false, "", fmt.Errorf("want a boolean or a string, got %s", raw)
	}
	return true, s, nil
}

func boolOrHashes(raw json.RawMessage) (bool, map[string]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return false, nil, nil
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, nil, nil
	}
	var h map[string]string
	if err := json.Unmarshal(raw, &h); err != nil {
		return false, nil, fmt.Errorf("want a boolean or a table of hashes, got %s", raw)
	}
	return true, lowerHashes(h), nil
}

func lowerHashes(h map[string]string) map[string]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[strings.ToLower(k)] = strings.ToLower(v)
	}
	return out
}

// resolveURL makes href absolute against base and drops the fragment.
func resolveURL(base *url.URL, href string) (string, error) {
	u, err := base.Parse(href)
	if err != nil {
		return "", fmt.Errorf("bad URL %q: %w", href, err)
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String(), nil
}

// parseHTML reads a PEP 503 page: every anchor is a file; the fragment
// carries the hash and data- attributes the rest.
func parseHTML(pageURL string, body []byte) (*Page, error) {
	base, err := url.Parse(pageURL)
	if err != nil {
		return nil, err
	}
	p := &Page{}
	z := html.NewTokenizer(bytes.NewReader(body))
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if err := z.Err(); !errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("parsing HTML: %w", err)
			}
			return p, nil
		case html.StartTagToken, html.SelfClosingTagToken:
		default:
			continue
		}
		tok := z.Token()
		switch tok.DataAtom {
		case atom.Base:
			// PEP 503 allows a <base> element to set where links resolve.
			if href, ok := attr(tok, "href"); ok {
				if b, err := base.Parse(href); err == nil {
					base = b
				}
			}
		case atom.A:
			f, err := anchorFile(base, z, tok)
			if err != nil {
				return nil, err
			}
			p.Files = append(p.Files, f)
		}
	}
}

func anchorFile(base *url.URL, z *html.Tokenizer, tok html.Token) (File, error) {
	href, ok := attr(tok, "href")
	if !ok {
		return File{}, fmt.Errorf("anchor without href")
	}
	u, err := base.Parse(href)
	if err != nil {
		return File{}, fmt.Errorf("anchor href %q: %w", href, err)
	}
	f := File{Size: -1}
	if alg, digest, ok := strings.Cut(u.Fragment, "="); ok && digest != "" {
		f.Hashes = map[string]string{strings.ToLower(alg): strings.ToLower(digest)}
	}
	u.Fragment, u.RawFragment = "", ""
	f.URL = u.String()
	// pip takes the filename from the last path segment of the URL.
	name := u.Path
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	if f.Filename, err = url.PathUnescape(name); err != nil || f.Filename == "" {
		// The anchor text is the filename by PEP 503; use it as a fallback.
		if z.Next() == html.TextToken {
			f.Filename = strings.TrimSpace(string(z.Text()))
		}
	}
	if f.Filename == "" {
		return File{}, fmt.Errorf("anchor %q names no file", href)
	}
	f.RequiresPython, _ = attr(tok, "data-requires-python")
	if reason, ok := attr(tok, "data-yanked"); ok {
		f.Yanked, f.YankedReason = true, reason
	}
	meta, ok := attr(tok, "data-core-metadata")
	if !ok {
		meta, ok = attr(tok, "data-dist-info-metadata")
	}
	if ok && meta != "false" {
		f.CoreMetadata = true
		if alg, digest, ok := strings.Cut(meta, "="); ok {
			f.MetadataHashes = map[string]string{strings.ToLower(alg): strings.ToLower(digest)}
		}
	}
	return f, nil
}

func attr(t html.Token, key string) (string, bool) {
	for _, a := range t.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// parseProjectList reads the root page of an index: PEP 691's "projects"
// or the anchors' text of PEP 503.
func parseProjectList(contentType string, body []byte) ([]string, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == mediaJSON {
		var root struct {
			Projects []struct {
				Name string `json:"name"`
			} `json:"projects"`
		}
		if err := json.Unmarshal(body, &root); err != nil {
			return nil, fmt.Errorf("decoding project list: %w", err)
		}
		names := make([]string, 0, len(root.Projects))
		for _, p := range root.Projects {
			names = append(names, p.Name)
		}
		return names, nil
	}
	var names []string
	z := html.NewTokenizer(bytes.NewReader(body))
	inA := false
	for {
		switch z.Next() {
		case html.ErrorToken:
			return names, nil
		case html.StartTagToken:
			if tok := z.Token(); tok.DataAtom == atom.A {
				inA = true
			}
		case html.EndTagToken:
			inA = false
		case html.TextToken:
			if inA {
				if n := strings.TrimSpace(string(z.Text())); n != "" {
					names = append(names, n)
				}
			}
		}
	}
}
