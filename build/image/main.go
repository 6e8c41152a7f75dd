// Command image builds plinth's container image without a container
// daemon (make image): the static plinth binary on an empty base, run as
// the numeric user 65532, as an OCI image layout and the same layout as
// one tar archive. Everything in it comes from its inputs (the binary,
// the version, the commit and the commit's time): the same commit gives
// the same digest.
//
//	go run ./build/image -binary bin/image/plinth -version v0.1.0 \
//	  -commit <sha> -created <RFC 3339> -layout bin/plinth-image -archive bin/plinth-image.tar
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	var in Inputs
	var created, layoutDir, archive string
	flag.StringVar(&in.Binary, "binary", "", "the static plinth binary")
	flag.StringVar(&in.Repository, "repository", Repository, "the image's name, without tag")
	flag.StringVar(&in.Version, "version", "", "the version: the image's tag and its version label")
	flag.StringVar(&in.Commit, "commit", "", "the source commit (revision label)")
	flag.StringVar(&created, "created", "", "the commit's time, RFC 3339: the image's creation time and every file's")
	flag.StringVar(&layoutDir, "layout", "", "the OCI image layout directory to write (replaced)")
	flag.StringVar(&archive, "archive", "", "the OCI image layout as one tar file to write")
	flag.Parse()
	if err := run(in, created, layoutDir, archive); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(in Inputs, created, layoutDir, archive string) error {
	if in.Binary == "" || in.Version == "" || in.Commit == "" || created == "" || layoutDir == "" || archive == "" {
		return fmt.Errorf("-binary, -version, -commit, -created, -layout and -archive are required")
	}
	t, err := time.Parse(time.RFC3339, created)
	if err != nil {
		return fmt.Errorf("-created: %w", err)
	}
	in.Created = t
	img, err := Build(in)
	if err != nil {
		return err
	}
	if err := WriteLayout(layoutDir, in, img); err != nil {
		return err
	}
	if err := WriteArchive(archive, layoutDir, in.Created); err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s:%s@%s\nuser %s, entrypoint %s; layout %s, archive %s\n",
		in.Repository, in.Version, digest, User, Path, layoutDir, archive)
	return nil
}
