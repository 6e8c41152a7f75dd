package main

import (
	"os"

	// Mozilla's root certificates, used only where the system has none:
	// the controller's image has no CA bundle of its own (build/image).
	_ "golang.org/x/crypto/x509roots/fallback"

	"github.com/plinth-platform/plinth/cmd/plinth/cli"
)

func main() { os.Exit(cli.Main()) }
