package reqfile

import (
	"errors"
	"strings"
)

// splitOptionWords splits the option part of a line into words with the
// POSIX shell rules of Python's shlex.split, which pip applies to options
// only: blanks separate words, '...' quotes literally, "..." quotes with
// backslash escaping only '"' and '\', and a bare backslash escapes the
// next character. '#' is not special here: comments are already gone.
func splitOptionWords(s string) ([]string, error) {
	var words []string
	var word strings.Builder
	inWord := false // a word has started, possibly as an empty quoted one
	var quote rune  // 0, '\'' or '"'
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			// Inside double quotes a backslash escapes only '"' and '\';
			// before anything else it is kept.
			if quote == '"' && r != '"' && r != '\\' {
				word.WriteRune('\\')
			}
			word.WriteRune(r)
			escaped = false
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				word.WriteRune(r)
			}
		case quote == '"':
			switch r {
			case '"':
				quote = 0
			case '\\':
				escaped = true
			default:
				word.WriteRune(r)
			}
		case r == ' ' || r == '\t' || r == '\r' || r == '\n':
			if inWord {
				words = append(words, word.String())
				word.Reset()
				inWord = false
			}
		case r == '\'' || r == '"':
			quote = r
			inWord = true
		case r == '\\':
			escaped = true
			inWord = true
		default:
			word.WriteRune(r)
			inWord = true
		}
	}
	if escaped {
		return nil, errors.New("no escaped character after the final backslash")
	}
	if quote != 0 {
		return nil, errors.New("no closing quotation")
	}
	if inWord {
		words = append(words, word.String())
	}
	return words, nil
}
