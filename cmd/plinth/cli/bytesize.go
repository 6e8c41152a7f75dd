package cli

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/plinth-platform/plinth/lib/sandbox"
)

// byteSize is a memory budget flag: a Kubernetes quantity ("2Gi", "512Mi",
// "1G") or plain bytes ("2147483648"), at least [sandbox.MinMemory].
type byteSize struct {
	p   *int64
	def int64
}

func newByteSize(p *int64, def int64) *byteSize {
	*p = def
	return &byteSize{p, def}
}

func (b *byteSize) String() string {
	if b.p == nil {
		return ""
	}
	return resource.NewQuantity(*b.p, resource.BinarySI).String()
}

func (b *byteSize) Type() string { return "bytes" }

func (b *byteSize) Set(s string) error {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return fmt.Errorf("%q is not a size: write bytes (2147483648) or a quantity (2Gi, 512Mi)", s)
	}
	n, ok := q.AsInt64()
	if !ok || n < 0 {
		return fmt.Errorf("%q is not a size in whole bytes", s)
	}
	if n < sandbox.MinMemory {
		return fmt.Errorf("%s is below the %s a plinth child needs to start (the default is %s)", s,
			resource.NewQuantity(sandbox.MinMemory, resource.BinarySI), resource.NewQuantity(b.def, resource.BinarySI))
	}
	*b.p = n
	return nil
}
