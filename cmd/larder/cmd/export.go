package cmd

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"
)

// exportOptions are the flags of larder export.
type exportOptions struct {
	layout     string
	tag        string
	platforms  []string
	lock       string
	wheelhouse string
}

func newExportCmd(g *globals) *cobra.Command {
	o := &exportOptions{}
	c := &cobra.Command{
		Use:   "export --oci-layout DIR",
		Short: "Write the wheelhouse image for BuildKit and print the flags that attach it",
		Long: `Bake the wheelhouse alone (an image from scratch holding /wheelhouse) into an OCI
layout, and print the exact docker buildx and buildctl flags that attach it to a
Dockerfile build as the named context "wheelhouse", for those who run BuildKit
themselves. Re-running it refreshes the layout like any bake.`,
		Example: `  larder export --oci-layout out/wheelhouse
  larder export --oci-layout out/wheelhouse --platform linux/amd64 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runExport(cmd, g, o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.layout, "oci-layout", "", "folder of the OCI layout to write (required)")
	f.StringVar(&o.tag, "tag", "wheelhouse", "tag of the image in the layout")
	f.StringArrayVar(&o.platforms, "platform", nil, "platform to include (repeatable; default every platform of the lock)")
	f.StringVar(&o.lock, "lock", "", "lock file (default [project] lock)")
	f.StringVar(&o.wheelhouse, "wheelhouse", "", "wheelhouse folder (default [wheelhouse] dir)")
	return c
}

// exportSummary is what larder export prints, also as JSON.
type exportSummary struct {
	Layout  string `json:"oci_layout"`
	Tag     string `json:"tag"`
	Digest  string `json:"digest"`
	Buildx  string `json:"buildx"`
	Buildct string `json:"buildctl"`
}

func runExport(cmd *cobra.Command, g *globals, o *exportOptions) error {
	if o.layout == "" {
		return usageError{errors.New("export: --oci-layout DIR is required")}
	}
	dir, err := filepath.Abs(o.layout)
	if err != nil {
		return err
	}
	bo := &bakeOptions{wheelhouseOnly: true, output: "oci:" + dir + ":" + o.tag, platforms: o.platforms, lock: o.lock, wheelhouse: o.wheelhouse}
	rep, err := bake(cmd, g, bo)
	if err != nil {
		return err
	}
	s := exportSummary{Layout: dir, Tag: o.tag, Digest: rep.Digest,
		Buildx: fmt.Sprintf("docker buildx build --build-context wheelhouse=oci-layout://%s@%s .", dir, rep.Digest),
		Buildct: fmt.Sprintf("buildctl build --frontend dockerfile.v0 --local context=. --local dockerfile=. --oci-layout wheelhouse=%s --opt context:wheelhouse=oci-layout://wheelhouse@%s",
			dir, rep.Digest),
	}
	if g.json {
		return writeJSON(cmd.OutOrStdout(), s)
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "wrote the wheelhouse image to oci:%s:%s\n  %s\n\n", dir, o.tag, rep.Digest)
	fmt.Fprintf(w, "with docker buildx:\n  %s\n\nwith buildctl:\n  %s\n\n", s.Buildx, s.Buildct)
	fmt.Fprintf(w, "in the Dockerfile:\n  RUN --mount=type=bind,from=wheelhouse,source=/wheelhouse,target=/wheelhouse \\\n      pip install --index-url file:///wheelhouse/simple/ -r requirements.txt\n")
	return nil
}
