package syslog

import (
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
