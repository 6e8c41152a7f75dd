// Package needs decides what a test does when something it needs from
// outside the repository is missing (the shared fixtures, Chromium, the
// reference tools, git's HTTP backend): it fails, saying what provides it,
// unless $PLINTH_SKIP names it. A test never passes by skipping silently.
//
//	PLINTH_SKIP=fixtures,chromium go test ./...
//
// make test prints the opt-out in use, and what is missing, before the
// tests run (docs/development.md).
package needs
