package images

import (
	"errors"
	"fmt"
	"strings"
)

// LockError reports a lock file that could not be read or used.
type LockError struct {
	Path string
	Err  error
}

func (e *LockError) Error() string { return fmt.Sprintf("lock %s: %v", e.Path, e.Err) }

// Unwrap returns the cause.
func (e *LockError) Unwrap() error { return e.Err }

// WheelhouseError reports a wheelhouse that could not be opened or lacks
// files of the closure.
type WheelhouseError struct {
	Dir string
	Err error
}

func (e *WheelhouseError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *WheelhouseError) Unwrap() error { return e.Err }

// UnlockedPlatformError refuses a platform that none of the lock's
// targets has: its image would lack every platform wheel and still carry
// the lock's digest.
type UnlockedPlatformError struct {
	Platform string
	// Targets are the lock's.
	Targets []string
}

func (e *UnlockedPlatformError) Error() string {
	return fmt.Sprintf("platform %s: the lock has no target for it (its targets: %s)", e.Platform, strings.Join(e.Targets, ", "))
}

// SourceDateEpochError reports a SOURCE_DATE_EPOCH that is not a time.
type SourceDateEpochError struct {
	Value string
}

func (e *SourceDateEpochError) Error() string {
	return fmt.Sprintf("SOURCE_DATE_EPOCH=%q: want a number of seconds since 1970", e.Value)
}

// IndexBinaryError reports a platform whose larder-index binary is
// missing or unusable.
type IndexBinaryError struct {
	Platform string
	// Path is the binary's; "" when none was given for the platform.
	Path string
	Err  error
}

func (e *IndexBinaryError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("no larder-index binary for %s", e.Platform)
	}
	return fmt.Sprintf("larder-index binary for %s: %s: %v", e.Platform, e.Path, e.Err)
}

// Unwrap returns the cause.
func (e *IndexBinaryError) Unwrap() error { return e.Err }

// PlatformError reports an image for another platform than the one
// asked for.
type PlatformError struct {
	Ref        string
	Have, Want string
}

func (e *PlatformError) Error() string {
	return fmt.Sprintf("%s is an image for %s, not %s", e.Ref, e.Have, e.Want)
}

// ErrArchivePlatforms refuses to write several platforms' images to a
// docker-archive, which holds one.
var ErrArchivePlatforms = errors.New("a docker-archive holds one platform's image, not several")

// TooManyLayersError reports an image that would have more than
// MaxLayers layers.
type TooManyLayersError struct {
	// Base and Larder are the layers of the base image and larder's.
	Base, Larder int
}

func (e *TooManyLayersError) Error() string {
	return fmt.Sprintf("the image would have %d layers (%d of the base, %d of larder), more than %d", e.Base+e.Larder, e.Base, e.Larder, MaxLayers)
}
