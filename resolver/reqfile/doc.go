// Package reqfile parses pip requirements files, including pip-compile
// output, the way pip 23 reads them.
//
// ParseFile reads a file and every file it includes with -r and -c
// (relative to the including file), and returns the requirements, the
// constraints and the global options (index URLs, find-links, the
// --no-binary and --only-binary sets, --pre and the rest) with the meaning
// pip gives them. Each requirement keeps where it came from (file, line and
// the chain of -r/-c lines), its --hash values, its link taken apart (VCS
// kind, repository, revision, subdirectory, egg; local path), its trailing
// comment, and the names in pip-compile's "# via" annotations, from which
// callers build the dependency graph. Requirement strings themselves are
// parsed by resolver/pep508.
//
// The rules follow pip/_internal/req/req_file.py and req/constructors.py:
// comments start at '#' at the beginning of a line or after whitespace
// (so "#egg=" in a URL is not one); a line ending in '\' continues; ${VAR}
// expands only in that form, with uppercase letters, digits and '_'; the
// requirement part of a line ends at the first word that starts with '-',
// and only the rest is shell-split and read as options, abbreviations
// included; a directory or archive path is local only if it exists, and
// local paths are relative to the working directory (WithWorkDir).
//
// Every error is an *Error naming the file and line. A few things pip
// accepts are errors or warnings here, each tested against pip itself in
// pip_corpus_test.go:
//
//   - an include cycle is an error with the chain (pip recurses until
//     Python's stack runs out);
//   - including a file over http(s) is an error: larder works offline;
//   - a URL with a fragment pip does not understand (such as
//     "#name==1.0", a misspelt "#egg=name==1.0") and no name is an error
//     (pip drops the fragment and installs it unnamed);
//   - unnamed, editable or extras constraints are errors here, not only
//     when pip's resolver meets them;
//   - an editable path that does not exist yet is a warning (pip fails);
//   - an empty "@rev" in a VCS URL is an error here, not at checkout;
//   - options pip silently ignores (on requirement lines, on -r lines,
//     after the options) are warnings;
//   - a file included again in the same mode (-r or -c) is not read again,
//     and a requirement line repeated word for word is kept once, with
//     the first one's place: pip installs the same either way, and a
//     diamond of includes or a file of one repeated line costs no more
//     than its distinct lines (a re-included file with option lines is a
//     warning, since pip would apply them again at that point);
//   - a tree is limited to 10,000 files, 64 MiB and 100 levels of
//     includes, and ParseFileContext stops when its context is done.
//
// The package also inherits resolver/pep508's deviations from packaging
// 21.3: versions in specifiers must be valid PEP 440, and extras compare
// normalized.
package reqfile
