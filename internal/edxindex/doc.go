// Package edxindex generates the workload of larder's first user, Open
// edX's edx-platform, as a fake package index: a pypitest.Index in which
// resolving the top-level requirements of edx-platform under its
// constraints file leads to exactly the 302 pins of its pip-compile output
// (testdata/edxindex/requirements/edx/base.txt), through a realistic
// dependency graph, realistic files and sizes, and newer releases that a
// resolver must reject for reasons it has to discover.
//
// The dependency graph is the one the `# via` comments of base.txt record:
// a parent names a pinned project, and `-r requirements/edx/*.in` marks a
// top-level requirement (a root). Every pinned project is in the index at
// its pinned version with a Requires-Dist line for each child, under a
// specifier the child's pin satisfies; a few edges carry markers that hold
// on Linux, a few are gated by an extra that base.txt pins (lxml[html-clean]
// pulls in lxml_html_clean), and some pins add lines that do not apply on
// Linux (pywin32 on Windows) or sit behind extras nobody asks for.
//
// # The invariant
//
// Let a solution be a set of releases, one per project, that contains every
// root, satisfies every requirement whose marker holds on Linux (x86_64 or
// aarch64) with CPython 3.11 or 3.12 (with the extras that are asked for),
// satisfies the constraints file, and whose every Requires-Python admits the
// interpreter. Then:
//
//  1. the pins form a solution, and it contains no other project;
//  2. every release in the index above a pin is a decoy, and no solution
//     contains a decoy;
//  3. hence the pins are the greatest solution: in any other solution every
//     project is at or below its pin, and at least one is below.
//
// So a complete resolver that tries each project's versions newest first
// (with backtracking) ends at exactly the pins: whenever it has chosen pins
// so far, every decoy of the next project fails and the pin succeeds. Older
// releases are valid and do form other, lower, solutions; a resolver that
// prefers old versions may find those.
//
// Point 2 rests on the decoy reasons. A requires-python decoy needs Python
// 3.14. A missing-version decoy requires a version of another project that
// no release in the index has. A conflict decoy of P requires Q<L, where
// older releases of Q exist, while another pinned project S requires Q>=L
// (S is a parent of P where possible, so that Q is P's sibling, else a
// child of P, else any project); every release of every closure project
// keeps (at least) the pin's requirements, so every solution contains S,
// in a release that requires Q>=L. A constraint decoy is valid except that
// the constraints file excludes it. Pre-release and yanked decoys also
// have one of these reasons, so a resolver that admits pre-releases or
// ignores yanking still rejects them.
//
// Every pin was uploaded before CompiledAt and every decoy after it.
//
// # Caveat: pip's resolver
//
// pip 23.2.1 (resolvelib 1.0.1, as vendored up to pip 24.2) gives up on the full
// workload, with ResolutionImpossible or "No matching distribution",
// although a solution exists (given the pins as constraints, pip accepts
// them): resolvelib's backjumping is unsound when a conflict was caused by
// an earlier decision (sarugaku/resolvelib issues 134 and 206). With
// Options.Reasons leaving out ReasonConflict, pip resolves the roots to
// exactly the pins (TestPipResolvesTheRootsToExactlyThePins).
//
// # An independent oracle
//
// The package writes its own small PEP 440 version ordering, PEP 508
// requirement strings and markers (requirement.go, version.go) instead of
// importing resolver/pep440 and resolver/pep508, on purpose: it is the
// judge of the resolver's answers, and a bug it shared with the resolver
// would pass every test; code that looks like theirs (a marker's operators,
// a version's fields) is written again here for that reason. Keep it
// importing nothing of resolver/.
package edxindex
