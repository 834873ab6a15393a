package syslog

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/logshipper/logshipper/event"
)

// handOff collects the events of one read from a connection (or of one
// recvmmsg batch) so that they reach the sink in one call: one queue
// operation, one wake-up of the pipeline's reader and one counter update
// per read instead of per message. Their message bytes are copied into
// blocks allocated per read, not one allocation per message.
//
// The Event structs themselves are allocated one by one, on purpose:
// carved from shared blocks they cost more than they save (measured: the
// collector then scans a whole block while any of its events is queued,
// and resolves each interior pointer; bench/profiles/handoff.md). Message
// bytes hold no pointers, so a shared block costs the collector nothing.
//
// A block is never written again once handed out: an event's Raw may
// share memory with its neighbours', never overwrite it, and is capped so
// that an append to it cannot spill into the next message.
type handOff struct {
	pending []*event.Event
	bytes   int // message bytes in pending

	// raw is the unused rest of the current block.
	raw []byte

	// The last hand-off's size decides the next block's size: a sender
	// that trickles single messages gets blocks of one message (as before:
	// no memory held for neighbours that never come), one that fills the
	// socket gets large blocks.
	lastBytes int

	// now is the receive time of the events of this read: taken once per
	// read, they arrived together.
	now time.Time
}

const (
	// maxRawBlock bounds a block: it is freed only once every message cut
	// from it is delivered, so larger blocks would only hold memory longer.
	maxRawBlock = 16 << 10
	// maxHandOffEvents and maxHandOffBytes bound what waits in a handOff
	// before it is handed over even without a read boundary (a read of
	// many tiny messages).
	maxHandOffEvents = 1024
	maxHandOffBytes  = 1 << 20
)

// event returns a new event for a message of frame's bytes (copied),
// received at h.now.
func (h *handOff) event(frame []byte) *event.Event {
	ev := &event.Event{Received: h.now, Raw: h.copyRaw(frame)}
	h.pending = append(h.pending, ev)
	h.bytes += len(frame)
	return ev
}

func (h *handOff) copyRaw(frame []byte) []byte {
	n := len(frame)
	if n > len(h.raw) {
		size := min(max(h.lastBytes, n), maxRawBlock)
		if size < n {
			size = n
		}
		h.raw = make([]byte, size)
	}
	b := h.raw[:n:n]
	copy(b, frame)
	h.raw = h.raw[n:]
	return b
}

// full says the pending events should be handed over before more are
// added.
func (h *handOff) full() bool {
	return len(h.pending) >= maxHandOffEvents || h.bytes >= maxHandOffBytes
}

// take returns the pending events and starts a new list: the sink keeps
// the slice it is given.
func (h *handOff) take() []*event.Event {
	evs := h.pending
	h.lastBytes = h.bytes
	h.pending, h.bytes = nil, 0
	return evs
}

// handOffGate bounds how many TCP and TLS connections hold the events of
// a read at once. A connection enters after a read brought bytes and
// leaves once it has handed the events over (and committed them), before
// its next read; one that waits in a read holds no place. Without it every
// busy connection held a whole read's events while the pipeline was full:
// at 512 connections that was 185-191 MiB peak RSS and twice the CPU (the
// collector ran without pause above its soft limit), where the pipeline's
// own bounds are 16 MiB. With it, a connection that cannot enter keeps
// only its framing buffer, and the sender's TCP window closes, as it does
// when Put blocks.
type handOffGate struct {
	places  chan struct{}
	waiting atomic.Int32 // connections waiting for a place (tests read it)
}

func newHandOffGate(places int) *handOffGate {
	return &handOffGate{places: make(chan struct{}, places)}
}

// handOffPlaces is the gate's size: enough for every CPU to frame and parse
// while others wait in Put, and small next to the pipeline's bounds (a
// place holds at most maxHandOffEvents events of one read).
func handOffPlaces() int {
	return max(4, 2*runtime.GOMAXPROCS(0))
}

// enter waits for a place; false when ctx ended first (the connection
// then goes on without one: its Put fails on the same ctx and the events
// are counted as dropped at shutdown).
func (g *handOffGate) enter(ctx context.Context) bool {
	select {
	case g.places <- struct{}{}:
		return true
	default:
	}
	g.waiting.Add(1)
	defer g.waiting.Add(-1)
	select {
	case g.places <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (g *handOffGate) leave() { <-g.places }
