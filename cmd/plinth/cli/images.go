package cli

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
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
every container image it uses, deduplicated and sorted: the upstream
reference and the reference the cluster pulls from network.mirrors.images.
This is the list a Nexus mirroring job consumes.`,
		Example: `  # The images prod pulls, for the mirroring job
  plinth images prod

  # As JSON
  plinth images prod -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			envs, err := g.environments(args)
			if err != nil {
				fmt.Fprintf(s.Err, "plinth images: %v\n", err)
				return exitCodeError{exitError}
			}
			root, _ := g.repoRoot()
			vendorDir, lockFile := f.sources.resolve(root)
			reply, err := renderInSandbox(cmd.Context(), renderRequest{Env: envs[0], VendorDir: vendorDir, LockFile: lockFile}, renderLimits())
			if err != nil {
				fmt.Fprintf(s.Err, "plinth images: %v\n", err)
				return exitCodeError{exitFindings}
			}
			reply.discard()
			type pair struct {
				Image  string `json:"image"`
				Mirror string `json:"mirror"`
			}
			var list []pair
			for from, to := range reply.Images {
				list = append(list, pair{from, to})
			}
			slices.SortFunc(list, func(a, b pair) int { return strings.Compare(a.Image, b.Image) })
			if f.output.value == "json" {
				enc := json.NewEncoder(s.Out)
				enc.SetIndent("", "  ")
				if list == nil {
					list = []pair{}
				}
				return enc.Encode(list)
			}
			for _, p := range list {
				fmt.Fprintf(s.Out, "%s -> %s\n", p.Image, p.Mirror)
			}
			return nil
		},
	}
	f.sources.add(cmd)
	cmd.Flags().VarP(&f.output, "output", "o", "output format: text or json")
	return cmd
}
