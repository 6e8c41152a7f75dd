package kubetest

import (
	"strings"
	"testing"
)

// A controller manager that dies during the tests makes Stop fail with
// the end of its log.
func TestControllerManagerDying(t *testing.T) {
	c, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.kcm.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-c.kcm.Done
	err = c.Stop()
	if err == nil {
		t.Fatal("Stop after the controller manager died succeeded")
	}
	t.Log(err)
	for _, want := range []string{"kube-controller-manager exited before the end of the tests: signal: killed", "kube-controller-manager.log:\n"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}
