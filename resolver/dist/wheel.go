package dist

import (
	"fmt"

	"github.com/larder-build/larder/resolver/distname"
	"github.com/larder-build/larder/resolver/tags"
)

// WheelName is a parsed wheel filename,
// NAME-VERSION[-BUILD]-PYTHON-ABI-PLATFORM.whl, with its tag set expanded.
type WheelName struct {
	distname.WheelName
	// Tags is the expanded compatibility tag set, lower-cased.
	Tags []tags.Tag
}

// ParseWheelName parses a wheel filename (a base name, not a path or URL)
// as distname.ParseWheelName does, and expands its tag set.
func ParseWheelName(filename string) (WheelName, error) {
	n, err := distname.ParseWheelName(filename)
	if err != nil {
		return WheelName{}, err
	}
	w := WheelName{WheelName: n}
	if w.Tags, err = tags.ParseTagSet(w.TagSet); err != nil {
		return WheelName{}, fmt.Errorf("wheel filename %q: %w", filename, err)
	}
	return w, nil
}
