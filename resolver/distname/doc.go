// Package distname reads the names in Python distribution filenames: the
// project name and its PEP 503 normalization, wheel filenames (PEP 427,
// the tag set as written) and source distribution filenames (PEP 625 and
// the legacy archive forms).
//
// It needs only the standard library, so that the small index server that
// goes into images can tell a file's project and version the way the rest
// of larder does. resolver/dist builds on it (expanding a wheel's tag set,
// reading core metadata).
package distname
