package uvlock

import "github.com/larder-build/larder/resolver/tomldoc"

// Error is an invalid input, located by file, line and key path (such as
// `packages[3].wheels[0].hashes`).
type Error = tomldoc.Error
