// Package pipeline is plinth's one path from an environment to its
// rendered result: evaluate (lib/platform) → sources and lock
// (lib/source) → render (lib/render) → policy (lib/policy) → the result,
// as files for deploy/<env>/ ([Files]) or as the manifest set apply, drift
// and diff take ([Objects]), with the settings those take from the
// environment. The CLI (render, images, diff, apply, drift, vet, vendor)
// and the controller both call it; neither has a render path of its own.
//
// Every stage that reads the repository's CUE or sources runs in a
// sandboxed child process of the running binary (lib/sandbox), bounded in
// time and memory, with no network and no programs to run: CUE
// evaluation cannot be cancelled and hostile input can kill a Go process,
// so the parent, a command or the controller, survives it. A binary that
// calls these functions must call [Serve] first thing in main (a test
// binary in TestMain): the child is the same binary.
//
// The child keeps two caches under $PLINTH_CACHE_DIR (else the user's
// cache directory): whole renders by render.Key, and rendered components
// (render.Cache). An entry is only written for a render that passed every
// check, and its key covers every input.
package pipeline
