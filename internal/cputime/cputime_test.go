package cputime

import "testing"

// TestProcessAdvances: spinning uses CPU time, and Process sees it.
func TestProcessAdvances(t *testing.T) {
	t0 := Process()
	if t0 == 0 {
		t.Skip("no CPU time on this platform")
	}
	x := 0
	for i := range 50_000_000 {
		x += i ^ x
	}
	if Process() <= t0 {
		t.Fatalf("CPU time did not advance (x=%d)", x)
	}
}
