package buffer

import (
	"context"
	"sync"
)

// byteGate bounds the message bytes held in memory between the inputs and
// the output's confirmation. The queue's slot count alone would let a
// flood of 64 KiB messages take queue_size × 64 KiB; the gate caps that
// at queue_bytes, whatever the message sizes.
type byteGate struct {
	mu   sync.Mutex
	used int64
	max  int64
	wait chan struct{} // closed and replaced on every release while someone waits
}

// tryAcquire takes n bytes if they fit now. One event always fits into an
// empty gate, so no message is too big to ever pass.
func (g *byteGate) tryAcquire(n int64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.used > 0 && g.used+n > g.max {
		return false
	}
	g.used += n
	return true
}

// acquire waits until n bytes fit, or ctx is done, or stop is closed.
func (g *byteGate) acquire(ctx context.Context, stop <-chan struct{}, n int64) error {
	for {
		g.mu.Lock()
		if g.used == 0 || g.used+n <= g.max {
			g.used += n
			g.mu.Unlock()
			return nil
		}
		if g.wait == nil {
			g.wait = make(chan struct{})
		}
		w := g.wait
		g.mu.Unlock()
		select {
		case <-w:
		case <-ctx.Done():
			return ctx.Err()
		case <-stop:
			return ErrClosed
		}
	}
}

func (g *byteGate) release(n int64) {
	g.mu.Lock()
	g.used -= n
	if g.wait != nil {
		close(g.wait)
		g.wait = nil
	}
	g.mu.Unlock()
}

func (g *byteGate) inUse() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.used
}
