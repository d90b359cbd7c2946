package simple

import (
	"fmt"
	"html"
	"io"
	"strings"
)

// MaxTagSize bounds one HTML tag (and an anchor's text) of a page read as
// a stream: the reader holds no more of the document than that.
const MaxTagSize = 1 << 20

// element is a start tag the readers care about: <a> with its text, or
// <base>. Attribute names are lower-cased, values unescaped, and the first
// of a repeated attribute wins, as in browsers and pip.
type element struct {
	name  string
	attrs map[string]string
	text  string // <a> only: the text up to the next tag, unescaped and trimmed
}

func (e *element) attr(key string) (string, bool) {
	v, ok := e.attrs[key]
	return v, ok
}

// scanHTML calls fn with every <a>, <base> and <meta> start tag read
// from r, in document order. It skips comments, declarations, processing
// instructions and the content of <script> and <style>, as pip's
// html.parser does, and holds no more of the document than one tag.
func scanHTML(r io.Reader, fn func(*element) error) error {
	s := htmlScanner{r: r, chunk: make([]byte, 32<<10)}
	return s.run(fn)
}

type htmlScanner struct {
	r     io.Reader
	chunk []byte
	buf   string // unread document
	eof   bool
}

// fill reads more of the document; false at its end.
func (s *htmlScanner) fill() (bool, error) {
	if s.eof {
		return false, nil
	}
	if len(s.buf) > MaxTagSize {
		return false, fmt.Errorf("parsing HTML page: a tag longer than %d bytes", MaxTagSize)
	}
	for {
		n, err := s.r.Read(s.chunk)
		if n > 0 {
			s.buf += string(s.chunk[:n])
		}
		switch {
		case err == io.EOF:
			s.eof = true
			return n > 0, nil
		case err != nil:
			return false, err
		case n > 0:
			return true, nil
		}
	}
}

func (s *htmlScanner) run(fn func(*element) error) error {
	var pending *element // an <a> whose text is being read
	var text strings.Builder
	emit := func() error {
		if pending == nil {
			return nil
		}
		pending.text = strings.TrimSpace(html.UnescapeString(text.String()))
		text.Reset()
		e := pending
		pending = nil
		return fn(e)
	}
	for {
		i := strings.IndexByte(s.buf, '<')
		if i < 0 {
			if pending != nil && text.Len() < MaxTagSize {
				text.WriteString(s.buf)
			}
			s.buf = ""
			more, err := s.fill()
			if err != nil {
				return err
			}
			if !more {
				return emit()
			}
			continue
		}
		if pending != nil && text.Len() < MaxTagSize {
			text.WriteString(s.buf[:i])
		}
		s.buf = s.buf[i:]
		n, e, ok := s.markup()
		if !ok {
			// The markup goes on in the next chunk; at the end of the
			// document, markup reads whatever is there.
			if _, err := s.fill(); err != nil {
				return err
			}
			continue
		}
		if n == 1 { // a '<' that starts no markup is text
			if pending != nil {
				text.WriteByte('<')
			}
			s.buf = s.buf[1:]
			continue
		}
		s.buf = s.buf[n:]
		// Any markup ends an anchor's text: pip and PEP 503 pages put
		// nothing but the file name there.
		if err := emit(); err != nil {
			return err
		}
		if e == nil {
			continue
		}
		switch e.name {
		case "a":
			pending = e
		case "base", "meta":
			if err := fn(e); err != nil {
				return err
			}
		case "script", "style":
			if err := s.skipRawText(e.name); err != nil {
				return err
			}
		}
	}
}

// markup reads the markup at the start of s.buf (which starts with '<'):
// its length, and the element when it is a start tag. ok is false when
// the buffer ends before the markup does.
func (s *htmlScanner) markup() (n int, e *element, ok bool) {
	b := s.buf
	if len(b) < 2 {
		return 1, nil, s.eof // a '<' at the very end is text
	}
	switch c := b[1]; {
	case strings.HasPrefix(b, "<!--"):
		end := strings.Index(b[4:], "-->")
		if end < 0 {
			if s.eof {
				return len(b), nil, true
			}
			return 0, nil, false
		}
		return 4 + end + 3, nil, true
	case c == '!' || c == '?' || c == '/':
		end := strings.IndexByte(b, '>')
		if end < 0 {
			if s.eof {
				return len(b), nil, true
			}
			return 0, nil, false
		}
		return end + 1, nil, true
	case isLetter(c):
		j := 1
		for j < len(b) && !isSpace(b[j]) && b[j] != '>' && b[j] != '/' {
			j++
		}
		name := strings.ToLower(b[1:j])
		attrs, end := parseAttrs(b, j)
		if end >= len(b) {
			if s.eof {
				return len(b), nil, true
			}
			return 0, nil, false
		}
		switch name {
		case "a", "base", "meta", "script", "style":
			return end + 1, &element{name: name, attrs: attrs}, true
		}
		return end + 1, nil, true
	}
	return 1, nil, true
}

// skipRawText skips to the end tag of a <script> or <style>, whose
// content is not markup.
func (s *htmlScanner) skipRawText(name string) error {
	closing := "</" + name
	for {
		if i := indexFold(s.buf, closing); i >= 0 {
			s.buf = s.buf[i:]
			return nil
		}
		// Keep what could be the start of the end tag.
		if len(s.buf) > len(closing) {
			s.buf = s.buf[len(s.buf)-len(closing):]
		}
		more, err := s.fill()
		if err != nil || !more {
			s.buf = ""
			return err
		}
	}
}

func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// parseAttrs reads attributes from doc[i:] up to the closing '>' and
// returns them with the index of that '>' (len(doc) when there is none).
// Values are copied out of doc, which is a whole chunk of the page.
func parseAttrs(doc string, i int) (map[string]string, int) {
	attrs := map[string]string{}
	for i < len(doc) {
		for i < len(doc) && (isSpace(doc[i]) || doc[i] == '/') {
			i++
		}
		if i >= len(doc) || doc[i] == '>' {
			break
		}
		start := i
		for i < len(doc) && !isSpace(doc[i]) && doc[i] != '=' && doc[i] != '>' && doc[i] != '/' {
			i++
		}
		name := strings.ToLower(doc[start:i])
		for i < len(doc) && isSpace(doc[i]) {
			i++
		}
		value := ""
		if i < len(doc) && doc[i] == '=' {
			i++
			for i < len(doc) && isSpace(doc[i]) {
				i++
			}
			if i < len(doc) && (doc[i] == '"' || doc[i] == '\'') {
				q := doc[i]
				j := strings.IndexByte(doc[i+1:], q)
				if j < 0 {
					return attrs, len(doc)
				}
				value, i = doc[i+1:i+1+j], i+2+j
			} else {
				start := i
				for i < len(doc) && !isSpace(doc[i]) && doc[i] != '>' {
					i++
				}
				value = doc[start:i]
			}
		}
		if _, dup := attrs[name]; !dup && name != "" {
			attrs[name] = strings.Clone(html.UnescapeString(value))
		}
	}
	return attrs, i
}
