package kubetest

import (
	"os/exec"
	"runtime"
)

// Child is a process a test started that dies with the test binary where
// the system allows (Linux), however the binary ends (a panic, go test's
// -timeout): a controller or controller manager outliving its test would
// otherwise retry against a dead API server for ever.
type Child struct {
	Cmd *exec.Cmd
	// Done is closed when the process has exited; Err is its exit status,
	// set before.
	Done chan struct{}
	Err  error
}

// StartChild starts cmd as a Child.
func StartChild(cmd *exec.Cmd) (*Child, error) {
	cmd.SysProcAttr = dieWithParent()
	c := &Child{Cmd: cmd, Done: make(chan struct{})}
	started := make(chan error)
	go func() {
		// Linux sends the signal when the thread that started the
		// process ends, not the process (golang/go#27505): this
		// goroutine keeps its thread until the process has exited.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		c.Err = cmd.Wait()
		close(c.Done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return c, nil
}
