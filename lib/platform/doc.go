// Package platform loads an environment (environments/<env>/*.cue, layered
// with the same-package files of its parent directories), unifies it with
// plinth's embedded schema and evaluates the compatibility rules.
//
// It is the first stage of plinth's pipeline: everything later (render,
// diff, apply, drift) starts from a [Platform] this package returns.
// Library code here never prints; findings and errors are returned.
package platform
