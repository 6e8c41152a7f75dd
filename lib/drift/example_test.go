package drift_test

import (
	"fmt"

	"github.com/plinth-platform/plinth/lib/drift"
)

func ExampleSummary_Counts() {
	s := drift.Summary{Objects: 120, Drifted: 2, Missing: 1}
	fmt.Println(s.Counts())
	// Output: 2 drifted, 1 missing, 0 unmanaged, 0 stale
}
