// Package config loads larder.toml, the project configuration of larder:
// which requirement files to lock, which index to use, the targets to lock
// and bake for, where the wheelhouse lives and which image to bake.
//
// Decoding is strict: an unknown key, a value of the wrong type or a bad
// value is an error that names the file, the line and the key, and says
// what was expected.
package config
