// Package cli is plinth's command line: one constructor per command, no
// package state, so that tests run the real commands in-process or, through
// testscript, as a separate binary. Data goes to stdout, messages to stderr.
package cli
