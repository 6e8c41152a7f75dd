// Command plinth runs an on-prem ML platform the GitOps way: it validates,
// renders, diffs and applies environments described in CUE.
package main

import (
	"os"

	"github.com/plinth-platform/plinth/cmd/plinth/cli"
)

func main() { os.Exit(cli.Main()) }
