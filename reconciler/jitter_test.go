package reconciler

import (
	"testing"
	"time"
)

// Checks due together spread over ±10% of the interval, not at one moment.
func TestJitterSpreads(t *testing.T) {
	const d = 10 * time.Minute
	lo, hi := d, time.Duration(0)
	for range 1000 {
		j := jitter(d)
		if j < d*9/10 || j > d*11/10 {
			t.Fatalf("jitter(%s) = %s, outside ±10%%", d, j)
		}
		lo, hi = min(lo, j), max(hi, j)
	}
	// 1,000 uniform draws miss the outer fifth of either side with
	// probability 0.9^1000: never, unless jitter does not spread.
	if lo > d*92/100 || hi < d*108/100 {
		t.Errorf("1,000 draws span only %s to %s", lo, hi)
	}
}
