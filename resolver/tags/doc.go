// Package tags implements wheel compatibility tags (the "Platform
// compatibility tags" specification, PEP 425, with the manylinux and
// musllinux platforms of PEP 600 and PEP 656): parsing the compressed tag
// sets of wheel filenames, listing the tags a target accepts in order of
// preference, and ranking a wheel's tags against that list.
//
// The list a target accepts is the one packaging.tags.sys_tags() yields on
// a real CPython of that version, built for that architecture and C
// library; a Ranker turns it into a map so that ranking a wheel costs one
// lookup per tag.
package tags
