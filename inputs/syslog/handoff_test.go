package syslog

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// Events cut from shared blocks keep their own bytes: the frame buffer can
// be reused, and appending to one event's Raw cannot reach its neighbour.
func TestHandOffEventsOwnTheirBytes(t *testing.T) {
	var h handOff
	h.now = time.Unix(1, 0)
	frame := []byte("first")
	a := h.event(frame)
	copy(frame, "XXXXX") // the framing buffer is reused for the next read
	b := h.event([]byte("second"))
	_ = append(a.Raw, "!!!!"...)
	if string(a.Raw) != "first" || string(b.Raw) != "second" {
		t.Fatalf("Raw = %q, %q", a.Raw, b.Raw)
	}
	if !a.Received.Equal(h.now) || !b.Received.Equal(h.now) {
		t.Fatalf("Received = %v, %v, want the read's time %v", a.Received, b.Received, h.now)
	}
	evs := h.take()
	if len(evs) != 2 || evs[0] != a || evs[1] != b || len(h.pending) != 0 || h.bytes != 0 {
		t.Fatalf("take = %d events, %d left, %d bytes left", len(evs), len(h.pending), h.bytes)
	}
	// The sink keeps the slice it was given: the next events go elsewhere.
	h.event([]byte("third"))
	if evs[0] != a || len(evs) != 2 {
		t.Fatal("a later event changed a handed-over slice")
	}
}

// Blocks follow the sender: a trickle gets one message per block (nothing
// held for neighbours that never come), a flood large blocks, bounded.
func TestHandOffBlockSizes(t *testing.T) {
	var h handOff
	h.event([]byte("a"))
	h.take()
	h.event([]byte("b"))
	if len(h.raw) != 0 {
		t.Fatalf("after a read of one message: %d bytes spare in the block, want 0", len(h.raw))
	}
	h.take()
	for i := range 500 {
		h.event(fmt.Appendf(nil, "message %03d of a large read", i))
	}
	h.take()
	h.event([]byte("next read"))
	if n, want := len("next read")+len(h.raw), min(h.lastBytes, maxRawBlock); n != want {
		t.Fatalf("raw block of %d bytes, want %d (the last read's bytes, at most %d)", n, want, maxRawBlock)
	}
	big := make([]byte, 3*maxRawBlock)
	if ev := h.event(big); len(ev.Raw) != len(big) {
		t.Fatalf("a message longer than a block: %d bytes kept of %d", len(ev.Raw), len(big))
	}
}

// A long read is handed over in parts: the events waiting are bounded.
func TestHandOffFull(t *testing.T) {
	var h handOff
	for range maxHandOffEvents - 1 {
		h.event([]byte("x"))
	}
	if h.full() {
		t.Fatal("full before maxHandOffEvents")
	}
	h.event([]byte("x"))
	if !h.full() {
		t.Fatal("not full at maxHandOffEvents")
	}
	h.take()
	h.event(make([]byte, maxHandOffBytes))
	if !h.full() {
		t.Fatal("not full at maxHandOffBytes")
	}
}

// While the pipeline is full, only handOffPlaces connections hold a read's
// events (in Put); the others wait at the gate with their bytes unframed,
// and a connection waiting in a read holds no place.
func TestHandOffGateBoundsConnectionsHoldingEvents(t *testing.T) {
	sk := newSink()
	sk.gate = make(chan struct{}) // the pipeline is full until closed
	s, addr, _ := start(t, testConfig(nil), sk)
	places := cap(s.handOffs.places)

	idle := dialTCP(t, addr) // connected, sends nothing: in a read
	defer idle.Close()
	const extra = 3
	n := places + extra
	for i := range n {
		c := dialTCP(t, addr)
		defer c.Close()
		write(t, c, fmt.Sprintf("<13>Nov 20 19:18:27 host app: message %d\n", i))
	}
	waitUntil(t, "connections waiting at the gate", func() bool { return s.handOffs.waiting.Load() == extra })
	sk.mu.Lock()
	calls := sk.putCalls
	sk.mu.Unlock()
	if calls != places {
		t.Fatalf("%d connections in Put while the pipeline is full, want %d (the gate's places)", calls, places)
	}
	close(sk.gate)
	sk.waitN(t, n)
	waitUntil(t, "every place given back", func() bool { return len(s.handOffs.places) == 0 })
}

func TestHandOffGateEnterGivesUpWithContext(t *testing.T) {
	g := newHandOffGate(1)
	if !g.enter(context.Background()) {
		t.Fatal("enter on a free gate = false")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if g.enter(ctx) {
		t.Fatal("enter on a full gate with a cancelled context = true")
	}
	g.leave()
	if !g.enter(ctx) {
		t.Fatal("enter on a free gate = false, even with a cancelled context a free place is taken")
	}
}
