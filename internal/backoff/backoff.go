// Package backoff is the one retry schedule of logshipper: capped
// exponential backoff with full jitter, and a wait that a context cuts
// short. The pipeline's deliveries and the queue inputs' reconnects use it,
// so every retry in the process behaves the same way.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Wait is the wait before retry number attempt+1: uniformly random in
// [0, min(max, initial*2^attempt)] ("full jitter"), so replicas that saw
// the same outage do not come back in lockstep.
func Wait(initial, maxWait time.Duration, attempt int) time.Duration {
	d := initial
	for i := 0; i < attempt && d < maxWait; i++ {
		d *= 2
	}
	d = min(d, maxWait)
	return time.Duration(rand.Int64N(int64(d) + 1))
}

// Sleep waits d or until ctx is done; it reports whether the full wait
// happened.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
