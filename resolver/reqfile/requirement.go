package reqfile

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/larder-build/larder/resolver/pep508"
)

// specifierOperators are PEP 440's comparison operators, for the "did you
// mean ==" hint.
var specifierOperators = []string{"~=", "==", "!=", "<=", ">=", "<", ">", "==="}

// abs resolves a local path against the work directory, as pip resolves
// it against its own.
func (p *parser) abs(name string) string {
	if filepath.IsAbs(name) {
		return filepath.Clean(name)
	}
	return filepath.Join(p.opts.workDir, name)
}

func (p *parser) stat(path string) (fs.FileInfo, bool) {
	fi, err := p.opts.fsys.Stat(path)
	return fi, err == nil
}

func (p *parser) isDir(path string) bool {
	fi, ok := p.stat(path)
	return ok && fi.IsDir()
}

func (p *parser) isFile(path string) bool {
	fi, ok := p.stat(path)
	return ok && fi.Mode().IsRegular()
}

// stripExtras splits a trailing "[extra,...]" off a path, as pip does for
// local paths such as "./pkg[dev]".
func stripExtras(s string) (string, string) {
	if len(s) < 3 || s[len(s)-1] != ']' {
		return s, ""
	}
	for k := len(s) - 3; k >= 1; k-- {
		switch s[k] {
		case ']':
			return s, ""
		case '[':
			return s[:k], s[k:]
		}
	}
	return s, ""
}

// parseExtras reads "[a,b]" with the PEP 508 parser, lowercased as pip does.
func parseExtras(extras string) ([]string, error) {
	if extras == "" {
		return nil, nil
	}
	r, err := pep508.ParseRequirement("placeholder" + strings.ToLower(extras))
	if err != nil {
		return nil, fmt.Errorf("parsing extras %q: %w", extras, err)
	}
	return r.Extras, nil
}

// fromLine builds a requirement from the requirement part of a line, as
// pip's install_req_from_line does: a URL, a local directory or archive, or
// a PEP 508 string.
func (p *parser) fromLine(text string, src Source) (*Requirement, error) {
	sep := ";"
	if isURL(text) {
		// A URL may contain ';', so only "; " starts its marker.
		sep = "; "
	}
	name, markerText, _ := strings.Cut(text, sep)
	name = pyTrim(name)
	markerText = pyTrim(markerText)
	r := &Requirement{}
	if markerText != "" {
		m, err := pep508.ParseMarker(markerText)
		if err != nil {
			return nil, fmt.Errorf("in marker: %w", err)
		}
		r.Marker = m
	}

	var link, pathExtras string
	if isURL(name) {
		link = name
	} else {
		path, extras := stripExtras(p.abs(name))
		u, err := p.urlFromPath(path, name, src)
		if err != nil {
			return nil, err
		}
		if u != "" {
			link, pathExtras = u, extras
		}
	}

	reqText, named := name, true
	if link != "" {
		if urlScheme(link) == "file" && strings.Contains(link, "../") {
			// pip makes relative file URLs absolute, dropping the fragment.
			local, err := fileURLToPath(link)
			if err != nil {
				return nil, err
			}
			link = pathToFileURL(p.abs(local))
		}
		if archiveExt(strings.TrimRight(pyUnquote(urlsplit(link).Path), "/")) == ".whl" {
			wname, wversion, err := wheelNameVersion(linkFilename(link))
			if err != nil {
				return nil, err
			}
			reqText = wname + "==" + wversion
		} else {
			reqText, named = fragmentValue(link, "egg")
		}
	}
	if named {
		req, err := pep508.ParseRequirement(reqText)
		if err != nil {
			return nil, invalidRequirement(reqText, link != "", err)
		}
		r.Req = &req
	}

	r.URL = link
	if r.URL == "" && r.Req != nil {
		r.URL = r.Req.URL
	}
	if r.Marker == nil && r.Req != nil {
		r.Marker = r.Req.Marker
	}
	if err := p.complete(r, pathExtras); err != nil {
		return nil, err
	}
	if r.Req == nil && link != "" && r.LocalPath == "" {
		// pip installs such a line as an unnamed requirement and ignores
		// the fragment; a fragment it does not understand is nearly always
		// a misspelt "#egg=name==1.0", so say so instead.
		if part := unknownFragment(urlsplit(link).Fragment); part != "" {
			base, _, _ := strings.Cut(link, "#")
			return nil, fmt.Errorf("URL fragment %q has no egg= and the requirement has no name; write \"NAME @ %s\" or add \"#egg=NAME\"", "#"+part, base)
		}
	}
	return r, nil
}

// invalidRequirement explains a requirement string that does not parse,
// with pip's hints.
func invalidRequirement(s string, fromLink bool, err error) error {
	hint := ""
	switch {
	case fromLink:
		hint = "; the name comes from the URL's #egg= fragment"
	case strings.Contains(s, "/"):
		hint = "; it looks like a path, but no such directory or archive exists"
	case strings.Contains(s, "="):
		hasOp := false
		for _, op := range specifierOperators {
			hasOp = hasOp || strings.Contains(s, op)
		}
		if !hasOp {
			hint = "; '=' is not a version operator: did you mean '=='?"
		}
	}
	return fmt.Errorf("invalid requirement: %w%s", err, hint)
}

// urlFromPath is pip's test of whether a requirement names a local
// project: an existing directory (which must hold setup.py or
// pyproject.toml) when it looks like a path, or an archive file name.
func (p *parser) urlFromPath(path, name string, src Source) (string, error) {
	if looksLikePath(name) && p.isDir(path) {
		if p.isFile(filepath.Join(path, "pyproject.toml")) || p.isFile(filepath.Join(path, "setup.py")) {
			return pathToFileURL(path), nil
		}
		return "", fmt.Errorf("directory %s is not installable: it has neither setup.py nor pyproject.toml", path)
	}
	if !isArchive(path) {
		return "", nil
	}
	if p.isFile(path) {
		return pathToFileURL(path), nil
	}
	if before, _, ok := strings.Cut(name, "@"); ok && !looksLikePath(before) {
		// "name @ https://host/name-1.0.tar.gz" is a PEP 508 URL.
		return "", nil
	}
	p.warn(src, "%q looks like a file name, but %s does not exist", name, path)
	return pathToFileURL(path), nil
}

// fromEditable builds a requirement from an -e value, as pip's
// parse_editable does: a local directory, a file: URL, or a VCS URL, whose
// name comes from "#egg=".
func (p *parser) fromEditable(value string, src Source) (*Requirement, error) {
	r := &Requirement{Editable: true}
	noExtras, extras := stripExtras(value)
	if abs := p.abs(noExtras); p.isDir(abs) {
		noExtras = pathToFileURL(abs)
	}
	var name string
	named := false
	switch {
	case strings.HasPrefix(strings.ToLower(noExtras), "file:"):
		r.URL = noExtras
		name, named = fragmentValue(noExtras, "egg")
	default:
		link := value
		for _, kind := range vcsKinds {
			if strings.HasPrefix(strings.ToLower(link), kind+":") {
				link = kind + "+" + link
				break
			}
		}
		if !vcsSchemes[urlsplit(link).Scheme] {
			if looksLikePath(noExtras) && !strings.Contains(noExtras, "://") {
				if _, exists := p.stat(p.abs(noExtras)); !exists {
					// pip fails here; a lock is often computed before
					// the local projects are checked out, so the check
					// is left to whoever installs.
					abs := p.abs(noExtras)
					p.warn(src, "editable path %s does not exist", abs)
					r.URL = pathToFileURL(abs)
					break
				}
			}
			return nil, fmt.Errorf("%q is not a valid editable requirement: it should be a path to a local project or a VCS URL (git+https://..., hg+..., svn+..., bzr+...)", value)
		}
		extras = ""
		r.URL = link
		name, named = fragmentValue(link, "egg")
		if !named || name == "" {
			if frag := urlsplit(link).Fragment; frag != "" {
				return nil, fmt.Errorf("URL fragment %q has no egg= and an editable has no other way to name its project; add \"#egg=NAME\" (pip fails here too)", "#"+frag)
			}
			return nil, errors.New("an editable VCS URL needs \"#egg=NAME\" to name its project")
		}
	}
	if named {
		req, err := pep508.ParseRequirement(name)
		if err != nil {
			return nil, invalidRequirement(name, true, err)
		}
		r.Req = &req
	}
	if err := p.complete(r, extras); err != nil {
		return nil, err
	}
	return r, nil
}

// complete sets r's extras from extras, the "[...]" written after a path,
// or else from its requirement, then what its URL says (describeLink).
func (p *parser) complete(r *Requirement, extras string) error {
	ex, err := parseExtras(extras)
	if err != nil {
		return err
	}
	r.Extras = ex
	if len(r.Extras) == 0 && r.Req != nil {
		r.Extras = r.Req.Extras
	}
	return p.describeLink(r)
}

// describeLink fills LocalPath and VCS from URL.
func (p *parser) describeLink(r *Requirement) error {
	if r.URL == "" {
		return nil
	}
	scheme := urlsplit(r.URL).Scheme
	switch {
	case scheme == "file":
		path, err := fileURLToPath(r.URL)
		if err != nil {
			return err
		}
		r.LocalPath = p.abs(path)
	case vcsSchemes[scheme]:
		v, err := parseVCS(r.URL)
		if err != nil {
			if errors.Is(err, errEmptyRev) {
				return fmt.Errorf("in %s: %w", r.URL, err)
			}
			return err
		}
		r.VCS = v
	}
	return nil
}
