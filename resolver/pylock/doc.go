// Package pylock reads and writes PEP 751 lock files (pylock.toml).
//
// A Lock is read with Load or Decode, which validate it (lock-version major
// 1, normalized names, one kind of source per package, hashes on every file)
// and report errors by file, line and key. It is written with Encode or
// WriteFile, whose output is a function of the lock's content alone, so that
// an unchanged resolution gives an unchanged file. Tool tables round-trip
// unchanged; larder's own [tool.larder] tables are typed (LarderTool).
package pylock
