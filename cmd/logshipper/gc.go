package main

import (
	"runtime/debug"
)

// gcPercent is the garbage collector's GOGC unless the environment sets
// one: collecting when the heap has grown by 300% instead of 100% cut
// 0.1-0.2 CPU-s per million messages on every path measured (README,
// "Memory and the garbage collector"), because a shipper's heap is mostly
// short-lived events and batches.
const gcPercent = 300

// memoryLimit is the soft limit the collector keeps the heap under unless
// GOMEMLIMIT is set: 48 MiB for the process plus twice what the memory
// queue may hold (queue_bytes of messages and their events), 80 MiB with
// the defaults. It bounds what gcPercent would let grow, so that the
// process's peak RSS stays under 100 MB: with 64 MiB (96 MiB in all) a
// Kafka edge peaked at 101-103 MiB (bench/profiles/gc.md). The live heap
// stays well below it (about 30 MB edge, 50 MB indexer, measured).
func memoryLimit(queueBytes int) int64 { return 48<<20 + 2*int64(queueBytes) }

// tuneGC applies gcPercent and memoryLimit where the environment does not
// choose (GOGC, GOMEMLIMIT: the Go runtime's own knobs, which operators
// keep). It returns the GOGC and memory limit in effect, for the start
// line (-1: GOGC=off; math.MaxInt64: no limit).
func tuneGC(queueBytes int, lookupEnv func(string) (string, bool)) (percent int, limit int64) {
	if _, set := lookupEnv("GOGC"); set {
		percent = debug.SetGCPercent(-1)
		debug.SetGCPercent(percent)
	} else {
		debug.SetGCPercent(gcPercent)
		percent = gcPercent
	}
	if _, set := lookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(memoryLimit(queueBytes))
	}
	return percent, debug.SetMemoryLimit(-1)
}
