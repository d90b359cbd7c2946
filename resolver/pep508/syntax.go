package pep508

import (
	"fmt"
	"strings"
)

// SyntaxError reports a requirement or marker string that does not follow
// the PEP 508 grammar, and where.
type SyntaxError struct {
	Input  string // the whole string being parsed
	Column int    // 1-based byte column of the offending text; len(Input)+1 at the end
	Msg    string // what was expected or found, e.g. `expected marker after ";"`
}

// Error quotes the input and points at the column, e.g.
// `parsing "foo >= 1.0 ;": expected marker after ";" at column 12`.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("parsing %q: %s at column %d", e.Input, e.Msg, e.Column)
}

// maxDepth bounds parenthesis nesting so that hostile input cannot exhaust
// the stack; real markers nest two or three levels.
const maxDepth = 100

// scanner walks a string byte by byte. Every grammar token of PEP 508 is
// ASCII, so bytes suffice; other runes only occur inside quoted strings and
// URLs, which are taken whole.
type scanner struct {
	s   string
	pos int
}

func (sc *scanner) errorf(pos int, format string, args ...any) error {
	return &SyntaxError{Input: sc.s, Column: pos + 1, Msg: fmt.Sprintf(format, args...)}
}

func (sc *scanner) eof() bool { return sc.pos >= len(sc.s) }

func (sc *scanner) peek() byte {
	if sc.pos < len(sc.s) {
		return sc.s[sc.pos]
	}
	return 0
}

// skipSpace skips PEP 508 whitespace, which is only spaces and tabs, and
// reports whether there was any.
func (sc *scanner) skipSpace() bool {
	start := sc.pos
	for sc.pos < len(sc.s) && isSpace(sc.s[sc.pos]) {
		sc.pos++
	}
	return sc.pos > start
}

func (sc *scanner) consume(tok string) bool {
	if strings.HasPrefix(sc.s[sc.pos:], tok) {
		sc.pos += len(tok)
		return true
	}
	return false
}

// found describes the text at pos for an error message.
func (sc *scanner) found(pos int) string {
	if pos >= len(sc.s) {
		return "end of input"
	}
	rest := sc.s[pos:]
	if len(rest) > 12 {
		rest = rest[:12] + "..."
	}
	return fmt.Sprintf("%q", rest)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
