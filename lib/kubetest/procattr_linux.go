package kubetest

import "syscall"

// dieWithParent makes a child process receive SIGKILL when the test
// binary exits.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
