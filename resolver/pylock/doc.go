// Package pylock reads and writes PEP 751 lock files (pylock.toml).
//
// A Lock is read with Load or Decode, which validate it (lock-version major
// 1, normalized names, one kind of source per package, hashes on every file)
// and report errors by file, line and key; a file of another format named
// like a lock (a requirements file, a PDM, Poetry or uv lock) is said to
// be what it is, with how to get a PEP 751 lock. It is written with Encode or
// WriteFile, whose output is a function of the lock's content alone, so that
// an unchanged resolution gives an unchanged file. Tool tables round-trip
// unchanged; larder's own [tool.larder] tables are typed (LarderTool).
package pylock
