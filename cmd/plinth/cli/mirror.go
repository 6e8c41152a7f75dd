package cli

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/plinth-platform/plinth/lib/capool"
	"github.com/plinth-platform/plinth/lib/image"
	"github.com/plinth-platform/plinth/lib/mirror"
	"github.com/plinth-platform/plinth/lib/render"
)

type mirrorFlags struct {
	sources  sourceFlags
	to, from string
	jobs     int
	dryRun   bool
	caFile   string
}

func newMirrorCommand(g *globalFlags, s Streams) *cobra.Command {
	f := &mirrorFlags{}
	cmd := &cobra.Command{
		Use:   "mirror ENV --to REGISTRY",
		Short: "Copy every image an environment uses into the registry mirror, by digest",
		Long: `mirror renders the environment (hermetically, as render does) and copies
every image it uses, the list plinth images shows, into the mirror: from
upstream, or from --from, to --to.

Each image is resolved once at the source and copied by that digest: a tag
to the digest it names now, a pinned digest as pinned (a pinned image whose
tag names other content is refused). What the destination already holds
at that digest is skipped, so a run that failed resumes by running it
again; blobs already pushed are not sent twice. After a copy the
destination's digest must be the source's. One line per image on stderr
says copied, skipped (already there) or failed.

REGISTRY (--to, --from) is HOST[:PORT][/PATH]: each image is there at the
repository path the cluster pulls it from (network.mirrors, including the
per-upstream prefixes of network.mirrors.registries), with REGISTRY in
place of the mirror's host, so --to names the side of Nexus that takes
pushes (a hosted repository's connector) when the cluster pulls through
another. An image no mirror serves goes to REGISTRY/<upstream
host>/<path>. oci-layout:DIR is an OCI image layout on disk that carries
the images across the air gap, each under its upstream reference: fill it
with --to outside, push it with --from inside.

Registries log in with Docker's config.json ($DOCKER_CONFIG, docker login's
credential helpers); --ca-file adds a private CA to the system's roots.

Exit status: 0 every image copied or already there (with --dry-run:
listed), 1 the environment failed to render or an image failed (run again
to resume), 2 mirror could not run.`,
		Example: `  # Copy prod's images from upstream into Nexus's hosted repository
  plinth mirror prod --to nexus.bank.local:8445 --ca-file bank-ca.pem

  # What would be copied, and what is already there
  plinth mirror prod --to nexus.bank.local:8445 --dry-run

  # Across the air gap: onto a disk outside, from it inside
  plinth mirror prod --to oci-layout:/media/usb/images
  plinth mirror prod --from oci-layout:/media/usb/images --to nexus.bank.local:8445`,
		Args: oneEnvironment(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMirror(cmd, g, f, s, args)
		},
	}
	f.sources.add(cmd)
	cmd.Flags().StringVar(&f.to, "to", "", "where the images go: REGISTRY or oci-layout:DIR (required)")
	cmd.Flags().StringVar(&f.from, "from", "", "where the images come from: REGISTRY or oci-layout:DIR (default: upstream)")
	cmd.Flags().IntVarP(&f.jobs, "jobs", "j", 4, "images copied at once")
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "list what would be copied and what is already there, on stdout; write nothing")
	cmd.Flags().StringVar(&f.caFile, "ca-file", "", "PEM file of CA certificates trusted besides the system's, for every registry")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

func runMirror(cmd *cobra.Command, g *globalFlags, f *mirrorFlags, s Streams, args []string) error {
	usageErr := func(err error) error {
		fmt.Fprintf(s.Err, "plinth mirror: %v\n", err)
		return exitCodeError{exitError}
	}
	to, err := mirror.ParseLocation(f.to)
	if err != nil {
		return usageErr(fmt.Errorf("--to %w", err))
	}
	var from mirror.Location
	if f.from != "" {
		if from, err = mirror.ParseLocation(f.from); err != nil {
			return usageErr(fmt.Errorf("--from %w", err))
		}
	}
	if f.jobs < 1 {
		return usageErr(fmt.Errorf("--jobs %d: want at least 1", f.jobs))
	}
	var transport http.RoundTripper
	if f.caFile != "" {
		pool, err := capool.FromFile(f.caFile)
		if err != nil {
			return usageErr(err)
		}
		if transport, err = capool.Transport(nil, pool); err != nil {
			return usageErr(err)
		}
	}
	envs, err := g.environments(args)
	if err != nil {
		return usageErr(err)
	}
	p, s := g.progress(s)
	out, err := f.sources.renderOne(cmd.Context(), g, p, envs[0])
	if err != nil {
		p.Close()
		if !interrupted(cmd.Context(), err) {
			fmt.Fprintf(s.Err, "plinth mirror: %v\n", err)
		}
		return exitCodeError{exitFindings}
	}
	images := mirrorImages(out.Images, s.Err)

	done := p.Start(fmt.Sprintf("copying %d images", len(images)))
	results, err := mirror.Copy(cmd.Context(), images, mirror.Options{
		From: from, To: to, Jobs: f.jobs, DryRun: f.dryRun, Transport: transport,
		Done: func(r mirror.Result) {
			if !f.dryRun || r.Status == mirror.Failed {
				printMirrorResult(s.Err, r, to)
			}
		},
	})
	done()
	p.Close()
	if err != nil {
		return usageErr(err)
	}
	count := map[mirror.Status]int{}
	for _, r := range results {
		count[r.Status]++
		if f.dryRun && r.Status != mirror.Failed {
			printMirrorResult(s.Out, r, to)
		}
	}
	if interrupted(cmd.Context(), cmd.Context().Err()) {
		return nil // Run says it
	}
	if f.dryRun {
		fmt.Fprintf(s.Err, "plinth mirror: %d to copy, %d already there, %d failed\n", count[mirror.WouldCopy], count[mirror.Skipped], count[mirror.Failed])
	} else {
		fmt.Fprintf(s.Err, "plinth mirror: %d copied, %d already there, %d failed\n", count[mirror.Copied], count[mirror.Skipped], count[mirror.Failed])
	}
	if count[mirror.Failed] > 0 {
		if !f.dryRun {
			fmt.Fprintln(s.Err, "plinth mirror: run it again to copy what failed; what is there is skipped")
		}
		return exitCodeError{exitFindings}
	}
	return nil
}

// mirrorImages are the images of a render to copy. A repository named
// without a tag (Istio's hub) says only that the cluster pulls something
// from there: it is reported, not copied.
func mirrorImages(list []render.Image, errOut io.Writer) []mirror.Image {
	var out []mirror.Image
	for _, img := range list {
		up, err := image.Parse(img.Image)
		// render.Images lists a repository by its name alone, an image
		// always with its tag or digest.
		if err == nil && up.Digest == "" && !strings.HasSuffix(img.Image, ":"+up.Tag) {
			err = fmt.Errorf("names a repository without a tag, not an image: copy the images the cluster pulls from it by hand")
		}
		var m image.Ref
		if err == nil {
			m, err = image.Parse(img.Mirror)
		}
		if err != nil {
			fmt.Fprintf(errOut, "plinth mirror: not copied: %s: %v\n", img.Image, err)
			continue
		}
		out = append(out, mirror.Image{Upstream: up, Mirror: m})
	}
	return out
}

// printMirrorResult writes one image's line: its status, the upstream
// reference with the digest copied, and where it went.
func printMirrorResult(w io.Writer, r mirror.Result, to mirror.Location) {
	dest := r.To
	if to.Layout != "" {
		dest = to.String()
	}
	img := r.Image.String()
	if r.Digest != "" && !strings.Contains(img, "@") {
		img += "@" + r.Digest
	}
	switch r.Status {
	case mirror.Failed:
		fmt.Fprintf(w, "%-10s %s -> %s: %v\n", r.Status, img, dest, r.Err)
	case mirror.Skipped:
		fmt.Fprintf(w, "%-10s %s -> %s (already there)\n", r.Status, img, dest)
	default:
		fmt.Fprintf(w, "%-10s %s -> %s\n", r.Status, img, dest)
	}
}
