// Command plinth runs an on-prem ML platform the GitOps way: it validates,
// renders, diffs and applies environments described in CUE. The commands
// live in package cli; this package is only the process entry point.
package main
