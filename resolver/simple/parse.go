package simple

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/url"
	"strings"
	"time"
)

// Header is what a project page says besides its files.
type Header struct {
	Name       string   // PEP 691; "" from HTML
	APIVersion string   // "" when the page does not say
	Versions   []string // PEP 700; nil when the page does not say
}

// FileError is what is wrong with one entry of a page. The entry's File,
// as far as it could be read, comes with it.
type FileError struct {
	Entry string // "files[3] pkg-1.0.tar.gz", or the anchor's href
	Err   error
}

func (e *FileError) Error() string {
	if e.Entry == "" {
		return e.Err.Error()
	}
	return e.Entry + ": " + e.Err.Error()
}

func (e *FileError) Unwrap() error { return e.Err }

// IsJSON reports whether a content type names the JSON form; anything
// else is read as HTML, as pip does.
func IsJSON(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	return strings.HasSuffix(mt, "+json") || mt == "application/json"
}

// ScanProject reads a project page in the form its content type names and
// calls fn with each file it lists, in page order, holding no more of the
// page than one entry. Links resolve against base (the page's URL after
// redirects) and, in HTML, a <base> element. An entry that cannot be read
// comes with a *FileError: fn decides whether it fails the page (by
// returning it) or is skipped. fn may keep f; it is not reused. Versions
// (PEP 700) go to version, one at a time, when it is not nil, and are
// collected in the Header otherwise: a caller that bounds what it keeps
// of a page bounds them too.
func ScanProject(r io.Reader, contentType string, base *url.URL, fn func(f *File, err error) error, version func(string) error) (Header, error) {
	if IsJSON(contentType) {
		return scanJSON(r, base, fn, version)
	}
	var h Header
	err := scanHTMLProject(r, base, fn, &h.APIVersion)
	return h, err
}

// ParseProject reads a whole project page, failing on any entry that
// cannot be read, on a JSON page whose api-version is not 1.x, and on a
// content type that is neither form.
func ParseProject(pageURL, contentType string, body []byte) (*Project, error) {
	return ParseProjectFunc(pageURL, contentType, body, nil)
}

// ParseProjectFunc is ParseProject with a say on each file: keep, when
// not nil, is called on every file read and decides whether the page
// keeps it; its error ends the read, as a malformed page.
func ParseProjectFunc(pageURL, contentType string, body []byte, keep func(*File) (bool, error)) (*Project, error) {
	p, err := parseProject(pageURL, contentType, body, keep)
	if err != nil {
		return nil, &MalformedError{pageURL, err}
	}
	return p, nil
}

func parseProject(pageURL, contentType string, body []byte, keep func(*File) (bool, error)) (*Project, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil && contentType != "" {
		return nil, fmt.Errorf("content type %q: %w", contentType, err)
	}
	switch mt {
	case MediaTypeJSON, MediaTypeHTML, "text/html", "":
	default:
		return nil, fmt.Errorf("unexpected content type %q (want %s or text/html)", mt, MediaTypeJSON)
	}
	base, err := url.Parse(pageURL)
	if err != nil {
		return nil, err
	}
	p := &Project{}
	h, err := ScanProject(bytes.NewReader(body), contentType, base, func(f *File, err error) error {
		if err != nil {
			return err
		}
		if keep != nil {
			if ok, err := keep(f); err != nil || !ok {
				return err
			}
		}
		p.Files = append(p.Files, *f)
		return nil
	}, nil)
	if err != nil {
		return nil, err
	}
	// PEP 629: a major version not understood is refused; an HTML page
	// may leave it out.
	if mt == MediaTypeJSON || h.APIVersion != "" {
		if major, _, _ := strings.Cut(h.APIVersion, "."); major != "1" {
			return nil, fmt.Errorf("api-version %q is not supported (want 1.x)", h.APIVersion)
		}
	}
	p.Name, p.APIVersion, p.Versions = h.Name, h.APIVersion, h.Versions
	return p, nil
}

// scanHTMLProject reads a PEP 503 page: every anchor is a file; the
// fragment carries the hash and data- attributes the rest.
func scanHTMLProject(r io.Reader, base *url.URL, fn func(*File, error) error, version *string) error {
	return scanHTML(r, func(e *element) error {
		if e.name == "meta" {
			// PEP 629's <meta name="pypi:repository-version">.
			if n, _ := e.attr("name"); n == "pypi:repository-version" {
				*version, _ = e.attr("content")
			}
			return nil
		}
		if e.name == "base" {
			// PEP 503 allows a <base> element to set where links resolve.
			if href, ok := e.attr("href"); ok {
				if b, err := base.Parse(strings.TrimSpace(href)); err == nil {
					base = b
				}
			}
			return nil
		}
		href, ok := e.attr("href")
		if !ok {
			return fn(&File{Size: -1}, &FileError{"", fmt.Errorf("anchor without href (text %q)", e.text)})
		}
		f, err := anchorFile(base, href, e)
		if err != nil {
			return fn(f, &FileError{"anchor " + href, err})
		}
		return fn(f, nil)
	})
}

func anchorFile(base *url.URL, href string, e *element) (*File, error) {
	f := &File{Size: -1}
	u, err := base.Parse(strings.TrimSpace(href))
	if err != nil {
		return f, fmt.Errorf("bad URL: %w", err)
	}
	if alg, digest, ok := strings.Cut(u.Fragment, "="); ok && alg != "" && digest != "" {
		f.Hashes = map[string]string{strings.ToLower(alg): strings.ToLower(digest)}
	}
	u.Fragment, u.RawFragment = "", ""
	f.URL = u.String()
	// pip takes the filename from the last path segment of the URL.
	name := u.EscapedPath()
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	if f.Filename, err = url.PathUnescape(name); err != nil || f.Filename == "" {
		// The anchor text is the filename by PEP 503; use it as a fallback.
		f.Filename = e.text
	}
	if f.Filename == "" {
		return f, errors.New("names no file")
	}
	f.RequiresPython, _ = e.attr("data-requires-python")
	if reason, ok := e.attr("data-yanked"); ok {
		f.Yanked, f.YankedReason = true, reason
	}
	meta, ok := e.attr("data-core-metadata")
	if !ok {
		meta, ok = e.attr("data-dist-info-metadata")
	}
	if ok {
		f.CoreMetadata, f.MetadataHashes = metadataAttr(meta)
	}
	return f, nil
}

// metadataAttr reads a PEP 658/714 attribute: "true", or a hash as
// "alg=hex"; "false" (or nothing) says there is none.
func metadataAttr(v string) (bool, map[string]string) {
	v = strings.TrimSpace(v)
	if alg, digest, ok := strings.Cut(v, "="); ok && alg != "" {
		if digest == "" {
			return true, nil
		}
		return true, map[string]string{strings.ToLower(alg): strings.ToLower(digest)}
	}
	return v != "" && !strings.EqualFold(v, "false"), nil
}

// jsonFile is one entry of a PEP 691 page's "files". The fields of
// several types are decoded only when present: a failed decode allocates
// its error, for every file of a page.
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

// scanJSON reads a PEP 691 page one file entry at a time.
func scanJSON(r io.Reader, base *url.URL, fn func(*File, error) error, version func(string) error) (Header, error) {
	var h Header
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return h, err
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return h, jsonErr(err)
		}
		switch key, _ := t.(string); key {
		case "meta":
			var m struct {
				APIVersion string `json:"api-version"`
			}
			if err := dec.Decode(&m); err != nil {
				return h, jsonErr(err)
			}
			h.APIVersion = m.APIVersion
		case "name":
			if err := dec.Decode(&h.Name); err != nil {
				return h, jsonErr(err)
			}
		case "files":
			if err := expectDelim(dec, '['); err != nil {
				return h, err
			}
			for i := 0; dec.More(); i++ {
				var jf jsonFile
				if err := dec.Decode(&jf); err != nil {
					return h, jsonErr(err)
				}
				f, err := jf.file(base)
				if err != nil {
					err = &FileError{fmt.Sprintf("files[%d] %s", i, jf.Filename), err}
				}
				if err := fn(f, err); err != nil {
					return h, err
				}
			}
			if _, err := dec.Token(); err != nil {
				return h, jsonErr(err)
			}
		case "versions":
			if err := expectDelim(dec, '['); err != nil {
				return h, err
			}
			if version == nil {
				h.Versions = []string{}
			}
			for dec.More() {
				var v string
				if err := dec.Decode(&v); err != nil {
					return h, jsonErr(err)
				}
				if version == nil {
					h.Versions = append(h.Versions, v)
				} else if err := version(v); err != nil {
					return h, err
				}
			}
			if _, err := dec.Token(); err != nil {
				return h, jsonErr(err)
			}
		default:
			if err := skipValue(dec); err != nil {
				return h, err
			}
		}
	}
	_, err := dec.Token()
	return h, jsonErr(err)
}

// file converts an entry, with as much as could be read when it fails.
func (jf *jsonFile) file(base *url.URL) (*File, error) {
	f := &File{Filename: jf.Filename, Hashes: lowerHashes(jf.Hashes), Size: -1}
	if jf.RequiresPython != nil {
		f.RequiresPython = *jf.RequiresPython
	}
	if jf.Size != nil && *jf.Size >= 0 {
		f.Size = *jf.Size
	}
	if jf.Filename == "" || jf.URL == "" {
		return f, errors.New("filename and url are required")
	}
	u, err := base.Parse(strings.TrimSpace(jf.URL))
	if err != nil {
		return f, fmt.Errorf("bad URL %q: %w", jf.URL, err)
	}
	u.Fragment, u.RawFragment = "", ""
	f.URL = u.String()
	if len(jf.Yanked) > 0 {
		if f.Yanked, f.YankedReason, err = boolOrString(jf.Yanked); err != nil {
			return f, fmt.Errorf("yanked: %w", err)
		}
	}
	meta := jf.CoreMetadata
	if len(meta) == 0 || string(meta) == "null" {
		meta = jf.DistInfoMeta
	}
	if len(meta) > 0 {
		if f.CoreMetadata, f.MetadataHashes, err = boolOrHashes(meta); err != nil {
			return f, fmt.Errorf("core-metadata: %w", err)
		}
	}
	if jf.UploadTime != "" {
		if f.UploadTime, err = time.Parse(time.RFC3339Nano, jf.UploadTime); err != nil {
			return f, fmt.Errorf("upload-time: %w", err)
		}
	}
	return f, nil
}

// jsonBool reads a JSON literal true, false or null without a decoder:
// most entries carry one, and a failed decode allocates its error.
func jsonBool(raw json.RawMessage) (b, ok bool) {
	switch string(raw) {
	case "true":
		return true, true
	case "false", "null":
		return false, true
	}
	return false, false
}

func boolOrString(raw json.RawMessage) (bool, string, error) {
	if b, ok := jsonBool(raw); ok {
		return b, "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return false, "", fmt.Errorf("want a boolean or a string, got %.100s", raw)
	}
	return true, s, nil
}

func boolOrHashes(raw json.RawMessage) (bool, map[string]string, error) {
	if b, ok := jsonBool(raw); ok {
		return b, nil, nil
	}
	var h map[string]string
	if err := json.Unmarshal(raw, &h); err != nil {
		return false, nil, fmt.Errorf("want a boolean or a table of hashes, got %.100s", raw)
	}
	return true, lowerHashes(h), nil
}

// lowerHashes lower-cases algorithms and digests, in place when only the
// digests need it and not at all when they are lower-case already, as
// they nearly always are.
func lowerHashes(h map[string]string) map[string]string {
	if len(h) == 0 {
		return nil
	}
	for k, v := range h {
		if k != strings.ToLower(k) {
			out := make(map[string]string, len(h))
			for k, v := range h {
				out[strings.ToLower(k)] = strings.ToLower(v)
			}
			return out
		}
		if lv := strings.ToLower(v); lv != v {
			h[k] = lv
		}
	}
	return h
}

// jsonErr says that a decoding error is a bad page; a read error or the
// reader's own error type stays recognizable through wrapping.
func jsonErr(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if errors.Is(err, io.EOF) {
		// The decoder ran out of page inside a value.
		err = io.ErrUnexpectedEOF
	}
	if err == nil || !(errors.As(err, &se) || errors.As(err, &te) || errors.Is(err, io.ErrUnexpectedEOF)) {
		return err
	}
	return fmt.Errorf("decoding JSON: %w", err)
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return jsonErr(err)
	}
	if d, ok := t.(json.Delim); !ok || d != want {
		return fmt.Errorf("decoding JSON: want %q, got %v", want, t)
	}
	return nil
}

// skipValue reads past one value token by token, so that a huge value
// of no interest is never held whole.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		t, err := dec.Token()
		if err != nil {
			return jsonErr(err)
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// ParseProjectList reads the root page of an index: PEP 691's "projects"
// or the anchors' text of PEP 503.
func ParseProjectList(contentType string, body []byte) ([]string, error) {
	if IsJSON(contentType) {
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
	err := scanHTML(bytes.NewReader(body), func(e *element) error {
		if e.name == "a" && e.text != "" {
			names = append(names, e.text)
		}
		return nil
	})
	return names, err
}

// RedactURL is u as an error or a log may show it: with any password
// replaced by "xxxxx" (url.URL.Redacted), and a user name given alone,
// often a token, too. Of a u that does not parse, what stands between
// "//" and its last "@" is replaced.
func RedactURL(u string) string {
	if p, err := url.Parse(u); err == nil {
		if p.User == nil {
			return u // as given: a message names what the user wrote
		}
		if _, ok := p.User.Password(); !ok {
			p.User = url.User("xxxxx")
		}
		return p.Redacted()
	}
	if at := strings.LastIndexByte(u, '@'); at >= 0 {
		start := 0
		if i := strings.Index(u, "//"); i >= 0 && i+2 <= at {
			start = i + 2
		}
		return u[:start] + "xxxxx" + u[at:]
	}
	return u
}

// WithoutCredentials is u as a lock or a wheelhouse records it: without
// the user and password of a private index (an index URL with a token),
// which a lock, committed and baked into images, must not carry. u is
// returned as it is when it has none, or does not parse.
func WithoutCredentials(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		return u
	}
	p.User = nil
	return p.String()
}

// Origin is a URL's scheme, host and port, lower-cased, with the
// scheme's default port written out ("https://example.org:443"): where a
// page's links may lead and whose credentials a request may carry. It
// is "" for a URL that is not http(s) or has no host.
func Origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if (scheme != "http" && scheme != "https") || host == "" {
		return ""
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}
