package buffer

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/logshipper/logshipper/event"
)

func memEvent(n int) *event.Event { return &event.Event{Raw: make([]byte, n)} }

// The memory buffer bounds events and bytes, hands events out in order,
// frees their bytes on Ack (in any order of batches), and drains after
// Close.
func TestMemoryBoundsReadsAndAcks(t *testing.T) {
	m := NewMemory(4, 100)
	ctx := context.Background()
	if err := m.TryAppend(memEvent(60), memEvent(40)); err != nil {
		t.Fatal(err)
	}
	if err := m.TryAppend(memEvent(1)); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("101st byte: %v, want ErrQueueFull", err)
	}
	if n, b := m.Stats(); n != 2 || b != 100 {
		t.Fatalf("stats %d events %d bytes", n, b)
	}
	es, err := m.Read(ctx, 1)
	if err != nil || len(es) != 1 || len(es[0].Event.Raw) != 60 {
		t.Fatalf("read %v %v", es, err)
	}
	rest, err := m.Read(ctx, 10)
	if err != nil || len(rest) != 1 || len(rest[0].Event.Raw) != 40 {
		t.Fatalf("read %v %v", rest, err)
	}
	// The second batch settles first.
	if err := m.Ack(rest[0].Pos, rest[0].Pos); err != nil {
		t.Fatal(err)
	}
	if n, b := m.Stats(); n != 1 || b != 60 {
		t.Fatalf("after the second ack: %d events %d bytes", n, b)
	}
	if err := m.Ack(es[0].Pos, es[0].Pos); err != nil {
		t.Fatal(err)
	}
	if n, b := m.Stats(); n != 0 || b != 0 {
		t.Fatalf("after both acks: %d events %d bytes", n, b)
	}
	// An event bigger than the limit still passes an empty buffer.
	if err := m.Append(ctx, memEvent(500)); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := m.Append(cctx, memEvent(1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append to a full buffer with a done context: %v", err)
	}
	m.Close()
	if err := m.TryAppend(memEvent(1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if es, err := m.Read(ctx, 10); err != nil || len(es) != 1 {
		t.Fatalf("drain after Close: %v %v", es, err)
	}
	if _, err := m.Read(ctx, 10); !errors.Is(err, io.EOF) {
		t.Fatalf("read after drain: %v, want io.EOF", err)
	}
	if m.Durable() {
		t.Error("memory is durable")
	}
}

// A group is done once, when its last event is counted; with the first
// error if any was given up.
func TestGroup(t *testing.T) {
	var got []error
	done := func(err error) { got = append(got, err) }
	NewGroup(0, done)
	g := NewGroup(3, done)
	g.Settle(1)
	g.Fail(1, ErrClosed)
	if len(got) != 1 || got[0] != nil {
		t.Fatalf("before the last event: %v", got)
	}
	g.Settle(1)
	if len(got) != 2 || !errors.Is(got[1], ErrClosed) {
		t.Fatalf("done %v", got)
	}
}
