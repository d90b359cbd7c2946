package reqfile

import (
	"strings"
	"unicode/utf8"
)

// viaNames reads pip-compile's annotation of why a pin is there: a
// trailing "# via a, b" comment, a "# via x" line after the requirement
// (rye: one such line per entry), or a "# via" line followed by one
// "#   entry" line per entry.
func viaNames(physical []string, ll logicalLine) []string {
	next := ll.last // index of the physical line after the requirement
	head := ""
	switch {
	case ll.comment == "via" || strings.HasPrefix(ll.comment, "via "):
		// A continued line swallows a following comment line, so the
		// "# via" can end up as the requirement's own comment.
		head = ll.comment
	case next < len(physical):
		// pip-compile indents its annotations; an unindented comment after
		// a line of a hand-written file is about the next line.
		text, ok := commentText(physical[next])
		if !ok || !startsWithSpace(physical[next]) {
			return nil
		}
		head = pyTrim(text)
		next++
	}
	if rest, ok := strings.CutPrefix(head, "via "); ok {
		// rye writes one indented "# via x" line per entry.
		names := splitViaList(rest)
		for ; next < len(physical); next++ {
			text, ok := commentText(physical[next])
			if !ok || !startsWithSpace(physical[next]) {
				break
			}
			more, ok := strings.CutPrefix(pyTrim(text), "via ")
			if !ok {
				break
			}
			names = append(names, splitViaList(more)...)
		}
		return names
	}
	if head != "via" {
		return nil
	}
	var names []string
	for ; next < len(physical); next++ {
		text, ok := commentText(physical[next])
		if !ok || text == "" || !startsWithSpace(physical[next]) {
			break
		}
		// Entries are indented past the '#'; an unindented comment is
		// something else, such as pip-compile's "unsafe packages" note.
		entry := pyTrim(text)
		if !startsWithSpace(text) || entry == "" {
			break
		}
		names = append(names, entry)
	}
	return names
}

// commentText returns what follows '#' on a comment-only line.
func commentText(line string) (string, bool) {
	t := strings.TrimLeftFunc(line, isPySpace)
	if !strings.HasPrefix(t, "#") {
		return "", false
	}
	return t[1:], true
}

// splitViaList splits older pip-compile's one-line "via a, b" form.
func splitViaList(s string) []string {
	var names []string
	for _, part := range strings.Split(s, ",") {
		if part = pyTrim(part); part != "" {
			names = append(names, part)
		}
	}
	return names
}

func startsWithSpace(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return s != "" && isPySpace(r)
}
