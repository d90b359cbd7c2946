package pyproject

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/tomldoc"
)

// SetuptoolsDynamic is what [tool.setuptools.dynamic] says about the
// dynamic dependencies: the requirement files setuptools reads them from,
// relative to the pyproject.toml. Other dynamic fields are not kept.
type SetuptoolsDynamic struct {
	// Dependencies are the files of project.dependencies, nil when not given.
	Dependencies []string
	// OptionalDependencies maps a normalized extra to its files.
	OptionalDependencies map[string][]string
}

func (r *reader) setuptoolsDynamic(t *tomldoc.Table) *SetuptoolsDynamic {
	if t == nil {
		return nil
	}
	d := &SetuptoolsDynamic{OptionalDependencies: map[string][]string{}}
	if t.Has("dependencies") {
		d.Dependencies = r.fileRef(t, "dependencies")
	}
	if ot := t.Sub("optional-dependencies"); ot != nil {
		seen := map[string]string{}
		for _, extra := range sortedKeys(ot.M) {
			norm := r.normalizedName(ot.KeyPath(extra), "extra", extra, seen)
			d.OptionalDependencies[norm] = r.fileRef(ot, extra)
		}
	}
	return d
}

// fileRef reads `KEY = {file = "a.txt"}` or `{file = ["a.txt", "b.txt"]}`,
// the only form setuptools takes for dependencies. A path that leaves the
// project folder is refused: the pyproject is input and may be hostile.
func (r *reader) fileRef(t *tomldoc.Table, key string) []string {
	ft := t.Sub(key)
	if ft == nil {
		return nil
	}
	v, ok := ft.M["file"]
	if !ok {
		r.p.Addf(t.KeyPath(key), `expected {file = [...]}: setuptools reads dependencies only from files`)
		return nil
	}
	var files []string
	if s, isStr := v.(string); isStr {
		files = []string{s}
	} else {
		files = r.p.Strings(ft.KeyPath("file"), v)
	}
	for i, f := range files {
		clean := filepath.Clean(filepath.FromSlash(f))
		if f == "" || filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
			r.p.Addf(tomldoc.IndexKey(ft.KeyPath("file"), i), "file %q: want a path inside the project folder", f)
		}
	}
	return files
}

// DynamicFiles returns the requirement files, relative to the
// pyproject.toml's folder, that setuptools reads the dynamic dependencies
// and the chosen extras' dynamic optional dependencies from. A dynamic
// list that no file reference describes is an error saying so, and so is
// an extra neither static nor in a file reference.
func (p *Project) DynamicFiles(extras []string) ([]string, error) {
	var files []string
	if p.isDynamic("dependencies") {
		if p.Setuptools == nil || p.Setuptools.Dependencies == nil {
			return nil, located(p.File, "project.dynamic", 0, p.notStatic("dependencies"))
		}
		files = append(files, p.Setuptools.Dependencies...)
	}
	if p.isDynamic("optional-dependencies") {
		for _, e := range extras {
			name := dist.NormalizeName(e)
			if _, ok := p.OptionalDependencies[name]; ok {
				continue
			}
			if p.Setuptools == nil {
				return nil, located(p.File, "project.dynamic", 0, p.notStatic("optional-dependencies"))
			}
			fs, ok := p.Setuptools.OptionalDependencies[name]
			if !ok {
				return nil, located(p.File, "tool.setuptools.dynamic.optional-dependencies", 0,
					fmt.Errorf("unknown extra %q: %s", e, known(sortedKeys(p.Setuptools.OptionalDependencies))))
			}
			files = append(files, fs...)
		}
	}
	return files, nil
}

func (p *Project) isDynamic(key string) bool {
	return slices.Index(p.Dynamic, key) >= 0
}

// notStatic explains a dynamic list larder cannot read from the file.
func (p *Project) notStatic(key string) error {
	backend := "the build backend"
	if p.BuildSystem != nil && p.BuildSystem.BuildBackend != "" {
		backend = p.BuildSystem.BuildBackend
	}
	return &DynamicError{Key: key, Backend: backend}
}

// DynamicError reports a dynamic list that only the build backend knows;
// a caller that can run the backend's PEP 517 hooks branches on it.
type DynamicError struct {
	Key     string // "dependencies" or "optional-dependencies"
	Backend string
}

func (e *DynamicError) Error() string {
	return fmt.Sprintf("project.%s is dynamic and not a setuptools file reference: only %s knows it", e.Key, e.Backend)
}
