package cmd

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/larder-build/larder/resolver/pylock"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/fetch"
)

// exportOptions are the flags of larder export.
type exportOptions struct {
	layout       string
	tag          string
	platforms    []string
	requirements string
	target       string
	lock         string
	wheelhouse   string
}

func newExportCmd(g *globals) *cobra.Command {
	o := &exportOptions{}
	c := &cobra.Command{
		Use:   "export (--oci-layout DIR | --requirements FILE)",
		Short: "Write the wheelhouse image for BuildKit, or the closure as a hashed requirements file",
		Long: `--oci-layout bakes the wheelhouse alone (an image from scratch holding /wheelhouse)
into an OCI layout, and prints the exact docker buildx and buildctl flags that
attach it to a Dockerfile build as the named context "wheelhouse", for those who
run BuildKit themselves. Re-running it refreshes the layout like any bake.

--requirements writes what one target of the lock installs as a pip requirements
file ("-" for stdout): every project pinned with == and the sha256 of each of its
files in the wheelhouse. Forks and sdist-only projects are listed by name with the
hash of the wheel larder built, so pip takes that wheel instead of cloning or
building, and the closure is complete, so pip can skip its resolver:

  pip install --no-deps --index-url file:///wheelhouse/simple/ -r requirements.lock.txt

--target picks the target when the lock has several: its full name, or a leading
part that only it has ("linux/amd64", "linux/amd64:3.11").`,
		Example: `  larder export --oci-layout out/wheelhouse
  larder export --oci-layout out/wheelhouse --platform linux/amd64 --json
  larder export --requirements requirements/edx/base.lock.txt --target linux/amd64`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runExport(cmd, g, o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.layout, "oci-layout", "", "folder of the OCI layout to write")
	f.StringVar(&o.tag, "tag", "wheelhouse", "tag of the image in the layout")
	f.StringArrayVar(&o.platforms, "platform", nil, "platform to include in the layout (repeatable; default every platform of the lock)")
	f.StringVar(&o.requirements, "requirements", "", `pip requirements file to write ("-": stdout)`)
	f.StringVar(&o.target, "target", "", "the lock's target for --requirements (default: the only one)")
	f.StringVar(&o.lock, "lock", "", "lock file (default [project] lock)")
	f.StringVar(&o.wheelhouse, "wheelhouse", "", "wheelhouse folder (default [wheelhouse] dir)")
	return c
}

// exportSummary is what larder export prints, also as JSON.
type exportSummary struct {
	Layout       string `json:"oci_layout,omitempty"`
	Tag          string `json:"tag,omitempty"`
	Digest       string `json:"digest,omitempty"`
	Buildx       string `json:"buildx,omitempty"`
	Buildct      string `json:"buildctl,omitempty"`
	Requirements string `json:"requirements,omitempty"`
	Target       string `json:"target,omitempty"`
	Projects     int    `json:"projects,omitempty"`
}

func runExport(cmd *cobra.Command, g *globals, o *exportOptions) error {
	if o.layout == "" && o.requirements == "" {
		return usageError{errors.New("export: want --oci-layout DIR, --requirements FILE or both")}
	}
	if o.target != "" && o.requirements == "" {
		return usageError{errors.New("export: --target is for --requirements")}
	}
	if o.requirements == "-" && g.json {
		return usageError{errors.New("export: --requirements - and --json would both write to stdout: give --requirements a file")}
	}
	var s exportSummary
	if o.requirements != "" {
		if err := exportRequirements(cmd, g, o, &s); err != nil {
			return err
		}
	}
	if o.layout != "" {
		dir, err := filepath.Abs(o.layout)
		if err != nil {
			return err
		}
		bo := &bakeOptions{wheelhouseOnly: true, output: "oci:" + dir + ":" + o.tag, platforms: o.platforms, lock: o.lock, wheelhouse: o.wheelhouse}
		rep, err := bake(cmd, g, bo)
		if err != nil {
			return err
		}
		s.Layout, s.Tag, s.Digest = dir, o.tag, rep.Digest
		s.Buildx = fmt.Sprintf("docker buildx build --build-context wheelhouse=oci-layout://%s@%s .", dir, rep.Digest)
		s.Buildct = fmt.Sprintf("buildctl build --frontend dockerfile.v0 --local context=. --local dockerfile=. --oci-layout wheelhouse=%s --opt context:wheelhouse=oci-layout://wheelhouse@%s",
			dir, rep.Digest)
	}
	if g.json {
		return writeJSON(cmd.OutOrStdout(), s)
	}
	w := cmd.OutOrStdout()
	if s.Requirements != "" && s.Requirements != "-" {
		fmt.Fprintf(w, "wrote %s: %d projects for %s, pinned with their hashes\n", s.Requirements, s.Projects, s.Target)
		fmt.Fprintf(w, "  %s%s\n", lockedInstall, s.Requirements)
		if s.Layout != "" {
			fmt.Fprintln(w)
		}
	}
	if s.Layout != "" {
		fmt.Fprintf(w, "wrote the wheelhouse image to oci:%s:%s\n  %s\n\n", s.Layout, s.Tag, s.Digest)
		fmt.Fprintf(w, "with docker buildx:\n  %s\n\nwith buildctl:\n  %s\n\n", s.Buildx, s.Buildct)
		fmt.Fprintf(w, "in the Dockerfile:\n  RUN --mount=type=bind,from=wheelhouse,source=/wheelhouse,target=/wheelhouse \\\n      pip install --index-url file:///wheelhouse/simple/ -r requirements.txt\n")
	}
	return nil
}

// lockedInstall is how pip installs an exported requirements file from
// the wheelhouse, followed by the file's name.
const lockedInstall = "pip install --no-deps --index-url file:///wheelhouse/simple/ -r "

// exportRequirements writes the requirements file of one target of the
// lock, atomically.
func exportRequirements(cmd *cobra.Command, g *globals, o *exportOptions, s *exportSummary) error {
	lockPath, dir := wheelhousePaths(g, o.lock, o.wheelhouse)
	lock, err := loadLock("export", lockPath)
	if err != nil {
		return err
	}
	t, err := lockTarget(lock, o.target)
	if err != nil {
		return usageError{fmt.Errorf("export: %w", err)}
	}
	store, err := wheelhouse.Open(dir)
	if err != nil {
		return withHint(fmt.Errorf("export: %w", err), "run 'larder fetch' first, and 'larder verify' to see what is wrong")
	}
	name := filepath.Base(o.requirements)
	if o.requirements == "-" {
		name = "requirements.txt"
	}
	data, n, err := fetch.Requirements(store, lock, t,
		"The closure of "+filepath.Base(lockPath)+" for "+t+", written by larder export; every file is in the",
		"wheelhouse, so pip needs neither its resolver nor the network:",
		"  "+lockedInstall+name)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	s.Requirements, s.Target, s.Projects = o.requirements, t, n
	if o.requirements == "-" {
		_, err := cmd.OutOrStdout().Write(data)
		return err
	}
	if err := wheelhouse.WriteFileAtomic(o.requirements, data, 0o644); err != nil {
		return fmt.Errorf("export: writing %s: %w", o.requirements, err)
	}
	return nil
}

// lockTarget picks one of the lock's targets (fetch.Target), saying how
// to choose in --target's words.
func lockTarget(l *pylock.Lock, want string) (string, error) {
	t, err := fetch.Target(l, want)
	var te *fetch.TargetError
	if !errors.As(err, &te) {
		return t, err
	}
	switch {
	case len(te.Targets) == 0:
		return "", errors.New("the lock names no targets: run 'larder lock' again to record them")
	case te.Want == "":
		return "", fmt.Errorf("the lock has %d targets, choose one with --target: %s", len(te.Targets), strings.Join(te.Targets, ", "))
	case len(te.Matches) > 1:
		return "", fmt.Errorf("--target %s: the lock has several such targets, name one: %s", te.Want, strings.Join(te.Matches, ", "))
	}
	return "", fmt.Errorf("--target %s: the lock has no such target; its targets: %s", te.Want, strings.Join(te.Targets, ", "))
}
