// Package sandbox runs one evaluation of untrusted input (an environment's
// CUE) in a child process of the running binary, bounded in wall time and
// memory.
//
// CUE evaluation cannot be cancelled, and hostile input can loop, allocate
// without bound or overflow the stack, which kills a Go process outright.
// A child process turns each of those into an error for the parent, so a
// command or the reconciler survives and reports which evaluation failed.
//
// The binary calls [Serve] first thing in main; [Run] re-executes it with
// the handler's name in the environment, sends the input as JSON on stdin
// and reads the JSON result from stdout.
package sandbox
