// Package pyproject reads the parts of a pyproject.toml that decide what a
// project installs: [project] (PEP 621) with its dependencies and extras,
// [dependency-groups] (PEP 735) with include-group expanded, [build-system]
// (PEP 518) and uv's [tool.uv] (constraints, overrides, legacy dev
// dependencies, conflicts, sources and indexes).
//
// Every requirement string is parsed with resolver/pep508 and kept with the
// text as written and its place in the file. Every error names the file,
// the line and the key, such as
//
//	pyproject.toml:42: dependency-groups.testing[3]: parsing "pytest >= ": expected version after ">=" ...
//
// Project.Requirements lists the loose requirements for a choice of extras
// and groups, the input of the resolver.
package pyproject
