package buffer

import (
	"sync"
	"sync/atomic"
)

// Group acknowledges a batch of events to the input that handed them over
// together (a Kafka fetch, a Redis read): its done function is called once,
// with nil when every event of the group was settled downstream (delivered
// or dead-lettered), or with the first error when any was given up (the
// shutdown deadline passed first; the input must then not commit them, so
// the broker delivers them again). An input that needs a contiguous
// watermark (a Kafka partition's offset) keeps its groups in order and
// commits up to the last done one.
type Group struct {
	left atomic.Int64
	mu   sync.Mutex
	err  error
	done func(error)
}

// NewGroup returns the group of n events; done must not block for long.
func NewGroup(n int, done func(error)) *Group {
	g := &Group{done: done}
	g.left.Store(int64(n))
	if n == 0 {
		done(nil)
	}
	return g
}

// Settle counts n events of the group as settled.
func (g *Group) Settle(n int) { g.finish(n, nil) }

// Fail counts n events of the group as given up, for err.
func (g *Group) Fail(n int, err error) { g.finish(n, err) }

func (g *Group) finish(n int, err error) {
	if err != nil {
		g.mu.Lock()
		if g.err == nil {
			g.err = err
		}
		g.mu.Unlock()
	}
	if g.left.Add(-int64(n)) == 0 {
		g.mu.Lock()
		err := g.err
		g.mu.Unlock()
		g.done(err)
	}
}
