package cmd

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/larder-build/larder/internal/bytesize"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/fetch"
)

func newGCCmd(g *globals) *cobra.Command {
	var lockFlag, dirFlag string
	var force bool
	c := &cobra.Command{
		Use:   "gc",
		Short: "Remove from the wheelhouse what the lock no longer needs",
		Long: `List the files of the wheelhouse that the lock does not need: files of
packages that left the lock, files the manifest does not list, sidecars of no
wheel and leftovers of interrupted fetches. With --force, remove them and
update the manifest and the static index; without it, only say what would go.

gc refuses to run while another larder process (a fetch, a server's cache)
writes to the same wheelhouse: the files it has not listed yet would look
like garbage.`,
		Example: "  larder gc\n  larder gc --force",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lockPath, dir := wheelhousePaths(g, lockFlag, dirFlag)
			lock, store, err := openLockAndWheelhouse("gc", lockPath, dir)
			if err != nil {
				return err
			}
			r, err := fetch.GC(cmd.Context(), store, lock, !force)
			var busy *wheelhouse.BusyError
			if errors.As(err, &busy) {
				return withHint(fmt.Errorf("gc: %w", err), "run 'larder gc' again when the other fetch has finished")
			}
			if err != nil {
				return fmt.Errorf("gc: %w", err)
			}
			return report(cmd.OutOrStdout(), g.json, &gcSummary{Wheelhouse: dir, Lock: lockPath, GCReport: r})
		},
	}
	f := c.Flags()
	f.StringVar(&lockFlag, "lock", "", "lock file whose files are kept (default [project] lock)")
	f.StringVar(&dirFlag, "wheelhouse", "", "wheelhouse folder (default [wheelhouse] dir)")
	f.BoolVar(&force, "force", false, "remove the files (default: only list them)")
	return c
}

// gcSummary is what larder gc reports, also as JSON.
type gcSummary struct {
	Wheelhouse string `json:"wheelhouse"`
	Lock       string `json:"lock"`
	*fetch.GCReport
}

// writeText lists what gc removed or would remove, and what it left.
func (s *gcSummary) writeText(w io.Writer) {
	defer func() {
		if len(s.Left) == 0 {
			return
		}
		fmt.Fprintf(w, "left %s in %s/%s (gc removes regular files and empty folders only):\n", filesCount(len(s.Left)), s.Wheelhouse, wheelhouse.FilesDir)
		for _, f := range s.Left {
			fmt.Fprintf(w, "  %-60s %s\n", f.File, f.Reason)
		}
	}()
	switch {
	case len(s.Files) == 0 && len(s.Left) == 0:
		fmt.Fprintf(w, "nothing to remove: %s holds only what %s needs\n", s.Wheelhouse, s.Lock)
		return
	case len(s.Files) == 0:
		fmt.Fprintf(w, "nothing to remove from %s\n", s.Wheelhouse)
		return
	case s.Removed:
		fmt.Fprintf(w, "removed %s (%s) from %s:\n", filesCount(len(s.Files)), bytesize.Format(s.Bytes), s.Wheelhouse)
	default:
		fmt.Fprintf(w, "would remove %s (%s) from %s (run with --force to remove them):\n", filesCount(len(s.Files)), bytesize.Format(s.Bytes), s.Wheelhouse)
	}
	for _, f := range s.Files {
		fmt.Fprintf(w, "  %-60s %10s  %s\n", f.File, bytesize.Format(f.Size), f.Reason)
	}
}

// filesCount says "1 file" or "N files".
func filesCount(n int) string {
	if n == 1 {
		return "1 file"
	}
	return fmt.Sprintf("%d files", n)
}
