package apply_test

import (
	"testing"

	"github.com/plinth-platform/plinth/lib/kubetest"
)

var cluster *kubetest.Cluster

func TestMain(m *testing.M) { kubetest.Main(m, &cluster) }
