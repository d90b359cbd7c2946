// Package pep508 parses and evaluates dependency specifiers as PEP 508 (the
// "Dependency specifiers" packaging specification) defines them: requirement
// strings such as `requests[socks]>=2.8,<3; python_version < "3.12"` and the
// environment markers they carry.
//
// A Requirement holds the project name as written, its extras (normalized
// per PEP 685), a PEP 440 specifier set from resolver/pep440, an optional
// direct URL and an optional Marker. A Marker is a tree of comparisons joined
// by "and" and "or"; it evaluates against an Environment, which
// EnvironmentFor builds for a container target.
//
// The package is checked against pip's vendored packaging 21.3
// (requirements.Requirement and markers.Marker) on several thousand
// generated markers and real requirement lines. It follows the current
// specification text where that older library does not; every such place is
// recorded in deviations_test.go with the quoted text. In short:
//
//   - a version comparison whose left side is not a valid version falls back
//     to string comparison (21.3 answers false);
//   - extra names compare normalized (PEP 685), and a missing extra counts as
//     "" (21.3 compares them as written and raises when extra is unset);
//   - comparisons apply to pre-release values too, as for an installed
//     interpreter (21.3 excludes them unless the specifier names one);
//   - only spaces and tabs are whitespace, "not" and "in" may be separated by
//     any of it, and quoted strings are taken literally (21.3, through
//     pyparsing, turns tabs into spaces, accepts newlines and rewrites
//     backslash escapes);
//   - specifier versions must be valid PEP 440 (21.3 also takes legacy
//     versions such as ">=abc"), and a "===" version ends where the
//     grammar's version characters do (21.3 runs on to the next space);
//   - String prints "x and ((a or b))" with the parentheses that keep its
//     meaning, and a string holding a double quote in single quotes (21.3
//     prints "x and a or b" and "a"b"").
//
// Comparisons that neither the specification nor packaging can evaluate (the
// "~=" operator on strings, or two literals whose right one names no
// variable) are false instead of an error, so that Evaluate never fails.
package pep508
