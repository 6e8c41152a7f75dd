package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/plinth-platform/plinth/lib/render"
)

type imagesFlags struct {
	sources sourceFlags
	output  outputFormat
}

func newImagesCommand(g *globalFlags, s Streams) *cobra.Command {
	f := &imagesFlags{output: outputFormat{value: "text", allowed: []string{"text", "json"}}}
	cmd := &cobra.Command{
		Use:   "images ENV",
		Short: "List every image an environment uses, upstream name and mirrored name",
		Long: `images renders the environment (hermetically, as render does) and lists
every image it uses, deduplicated and sorted: the upstream reference and
the reference the cluster pulls through network.mirrors (images.txt holds
the same pairs). With -o json each image also says whether it is pinned by
digest and lists every object and field that uses it. The images come from
the same locator that rewrites them to the mirror, so this is the list a
Nexus mirroring job consumes.

Exit status: 0 listed, 1 the environment failed to render (as plinth
render), 2 images could not run.`,
		Example: `  # The images prod pulls, for the mirroring job
  plinth images prod

  # As JSON
  plinth images prod -o json`,
		Args: oneEnvironment(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			envs, err := g.environments(args)
			if err != nil {
				fmt.Fprintf(s.Err, "plinth images: %v\n", err)
				return exitCodeError{exitError}
			}
			p, s := g.progress(s)
			out, err := f.sources.renderOne(cmd.Context(), g, p, envs[0])
			p.Close()
			if err != nil {
				// As render: the environment failed (exit 1), unless
				// interrupted.
				if !interrupted(cmd.Context(), err) {
					fmt.Fprintf(s.Err, "plinth images: %v\n", err)
				}
				return exitCodeError{exitFindings}
			}
			if f.output.value == "json" {
				enc := json.NewEncoder(s.Out)
				enc.SetIndent("", "  ")
				if out.Images == nil {
					out.Images = []render.Image{}
				}
				return enc.Encode(out.Images)
			}
			for _, img := range out.Images {
				fmt.Fprintf(s.Out, "%s -> %s\n", img.Image, img.Mirror)
			}
			return nil
		},
	}
	f.sources.add(cmd)
	cmd.Flags().VarP(&f.output, "output", "o", "output format: text or json")
	return cmd
}
