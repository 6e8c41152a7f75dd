package main

import (
	"os"

	"github.com/plinth-platform/plinth/cmd/plinth/cli"
)

func main() { os.Exit(cli.Main()) }
