package main

import (
	"math"
	"runtime/debug"
	"testing"
)

// logshipper's GC settings apply where the environment chooses none, and
// never override GOGC or GOMEMLIMIT an operator set.
func TestTuneGC(t *testing.T) {
	prevPercent := debug.SetGCPercent(100)
	prevLimit := debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() {
		debug.SetGCPercent(prevPercent)
		debug.SetMemoryLimit(prevLimit)
	})
	none := func(string) (string, bool) { return "", false }
	percent, limit := tuneGC(16<<20, none)
	if percent != 300 || limit != 80<<20 {
		t.Fatalf("defaults: GOGC %d, limit %d; want 300 and 80 MiB", percent, limit)
	}
	if memoryLimit(256<<20) != 560<<20 {
		t.Errorf("limit for a 256 MiB queue: %d, want 560 MiB", memoryLimit(256<<20))
	}

	// The operator's values (the runtime read them at start; here they
	// are set by hand) are kept.
	debug.SetGCPercent(50)
	debug.SetMemoryLimit(1 << 30)
	both := func(k string) (string, bool) { return "x", k == "GOGC" || k == "GOMEMLIMIT" }
	percent, limit = tuneGC(16<<20, both)
	if percent != 50 || limit != 1<<30 {
		t.Fatalf("with GOGC and GOMEMLIMIT set: GOGC %d, limit %d; want 50 and 1 GiB kept", percent, limit)
	}
}
