// Package simple reads and writes the pages of the simple repository API,
// the format every Python package index speaks: PEP 503 HTML and PEP 691
// JSON project pages and project lists, with PEP 592 yanked files, PEP 658
// and PEP 714 core-metadata advertisements, and PEP 700 sizes, upload
// times and versions.
//
// It is the one place that knows the format: the index client parses with
// it, and the static index, the server and the server's upstream client
// write and read with it. Parsing works on a stream and hands over one file
// at a time (ScanProject), so that a caller bounds what it keeps of a page
// however large the page is; ParseProject collects a whole page. Writing
// is a stream too (ProjectWriter): a page of many files is never held.
//
// It needs only the standard library, so that the small server that goes
// into images links nothing else. The HTML reader is a tokenizer for what
// index pages contain (tags, attributes, character references, comments),
// in the manner of the html.parser module pip uses, not a full HTML5 parser.
package simple
