package pypitest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

func load(path string) (*Index, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("loading index spec: %w", err)
	}
	idx, err := Parse(data, filepath.Ext(path))
	if err != nil {
		return nil, fmt.Errorf("loading index spec %q: %w", path, err)
	}
	return idx, nil
}

// Parse decodes an Index spec; format is "toml", "json" or a file extension
// such as ".toml". Unknown keys are errors, so that a misspelt key in a
// fixture cannot silently change what a test exercises.
func Parse(data []byte, format string) (*Index, error) {
	var idx Index
	switch strings.TrimPrefix(strings.ToLower(format), ".") {
	case "toml":
		dec := toml.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&idx); err != nil {
			var strict *toml.StrictMissingError
			if errors.As(err, &strict) {
				var keys []string
				for _, e := range strict.Errors {
					keys = append(keys, strings.Join(e.Key(), "."))
				}
				return nil, fmt.Errorf("decoding TOML: unknown keys %q: %w", keys, err)
			}
			return nil, fmt.Errorf("decoding TOML: %w", err)
		}
	case "json":
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&idx); err != nil {
			return nil, fmt.Errorf("decoding JSON: %w", err)
		}
	default:
		return nil, fmt.Errorf("unknown spec format %q (want toml or json)", format)
	}
	if err := idx.Validate(); err != nil {
		return nil, err
	}
	return &idx, nil
}
