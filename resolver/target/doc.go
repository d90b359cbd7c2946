// Package target describes the platforms a lock is resolved for: an
// operating system and CPU architecture, a CPython version and a C library.
//
// A target is written on the command line as OS/ARCH[/VARIANT]:PYTHON[:LIBC],
// for example "linux/amd64:3.11:glibc2.36" or "linux/arm64:3.12:musl1.2".
package target
