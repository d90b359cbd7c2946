package cmd

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/larder-build/larder/internal/bytesize"
	"github.com/larder-build/larder/resolver/pylock"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/fetch"
)

func newVerifyCmd(g *globals) *cobra.Command {
	var lockFlag, dirFlag string
	var strict bool
	c := &cobra.Command{
		Use:   "verify",
		Short: "Check every file of the wheelhouse against its manifest and the lock",
		Long: `Re-read every file of the wheelhouse and report what is wrong:

  missing      the lock needs it and the wheelhouse does not have it
  corrupt      its bytes differ from the manifest or the lock
  not-regular  a symbolic link, named pipe or folder where a file belongs, in
               files/ or simple/ (links are never followed: they may point
               out of the wheelhouse)
  metadata     a wheel's .metadata sidecar is absent or wrong
  unexpected   in files/ but not in the manifest (leftovers of interrupted writes too)
  stale        the lock no longer needs it (a warning, unless --strict)

The exit code is 1 when anything but a stale file is found. 'larder fetch'
repairs missing and corrupt files; 'larder gc --force' removes unexpected and
stale ones; a not-regular one is for you to look at.`,
		Example: "  larder verify\n  larder verify --strict --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lockPath, dir := wheelhousePaths(g, lockFlag, dirFlag)
			var lock *pylock.Lock
			if _, err := os.Stat(lockPath); err == nil || lockFlag != "" {
				l, err := loadLock("verify", lockPath)
				if err != nil {
					return err
				}
				lock = l
			}
			store, err := openWheelhouse("verify", dir)
			if err != nil {
				return err
			}
			start := time.Now()
			r, err := fetch.Verify(cmd.Context(), store, lock)
			if err != nil {
				return fmt.Errorf("verify: %w", err)
			}
			sum := verifySummary{Wheelhouse: dir, Files: r.Files, Bytes: r.Bytes, Problems: r.Problems,
				OK: !r.Failed(strict), Seconds: time.Since(start).Seconds(), counts: problemCounts(r)}
			if lock != nil {
				sum.Lock = lockPath
			}
			if err := report(cmd.OutOrStdout(), g.json, &sum); err != nil {
				return err
			}
			if sum.OK {
				return nil
			}
			return withHint(fmt.Errorf("verify: %s has %s", dir, problemCounts(r)),
				"'larder fetch' repairs missing, corrupt and metadata problems; 'larder gc --force' removes unexpected and stale files")
		},
	}
	f := c.Flags()
	f.StringVar(&lockFlag, "lock", "", "lock file to check against (default [project] lock; without one, the wheelhouse alone is checked)")
	f.StringVar(&dirFlag, "wheelhouse", "", "wheelhouse folder (default [wheelhouse] dir)")
	f.BoolVar(&strict, "strict", false, "fail on stale files too")
	return c
}

// openWheelhouse opens an existing store; one that does not match its
// manifest is still returned, for the caller to report or repair.
func openWheelhouse(verb, dir string) (*wheelhouse.Store, error) {
	store, err := wheelhouse.Open(dir)
	var inconsistent *wheelhouse.InconsistentError
	switch {
	case err == nil, errors.As(err, &inconsistent):
		return store, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, withHint(fmt.Errorf("%s: %w", verb, err), "run 'larder fetch' first, or pass --wheelhouse DIR")
	}
	return nil, fmt.Errorf("%s: %w", verb, err)
}

// openLockAndWheelhouse loads the lock and opens the wheelhouse, for the
// verbs that need both.
func openLockAndWheelhouse(verb, lockPath, dir string) (*pylock.Lock, *wheelhouse.Store, error) {
	lock, err := loadLock(verb, lockPath)
	if err != nil {
		return nil, nil, err
	}
	store, err := openWheelhouse(verb, dir)
	if err != nil {
		return nil, nil, err
	}
	return lock, store, nil
}

// verifySummary is what larder verify reports, also as JSON.
type verifySummary struct {
	Wheelhouse string               `json:"wheelhouse"`
	Lock       string               `json:"lock,omitempty"`
	Files      int                  `json:"files"`
	Bytes      int64                `json:"bytes"`
	OK         bool                 `json:"ok"`
	Problems   []wheelhouse.Problem `json:"problems"`
	Seconds    float64              `json:"seconds"`
	// counts is problemCounts of the report, for the text.
	counts string
}

func problemCounts(r *wheelhouse.VerifyReport) string {
	var parts []string
	for _, k := range []wheelhouse.ProblemKind{wheelhouse.ProblemMissing, wheelhouse.ProblemCorrupt, wheelhouse.ProblemNotRegular, wheelhouse.ProblemMetadata, wheelhouse.ProblemUnexpected, wheelhouse.ProblemStale} {
		if c := r.Count(k); c > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c, k))
		}
	}
	if len(parts) == 0 {
		return "no problems"
	}
	return fmt.Sprintf("%d problem(s): %s", len(r.Problems), strings.Join(parts, ", "))
}

// writeText lists the problems verify found.
func (s *verifySummary) writeText(w io.Writer) {
	against := "its manifest (no lock)"
	if s.Lock != "" {
		against = s.Lock
	}
	fmt.Fprintf(w, "checked %d files (%s) of %s against %s in %.1fs\n", s.Files, bytesize.Format(s.Bytes), s.Wheelhouse, against, s.Seconds)
	for _, p := range s.Problems {
		note := ""
		if p.Kind == wheelhouse.ProblemStale {
			note = " (warning)"
		}
		fmt.Fprintf(w, "  %-10s %s: %s%s\n", p.Kind, p.File, p.Detail, note)
	}
	if len(s.Problems) == 0 {
		fmt.Fprintln(w, "  every file is present and intact")
	} else {
		fmt.Fprintf(w, "  %s\n", s.counts)
	}
}
