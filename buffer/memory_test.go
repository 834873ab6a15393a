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

// The events of one append travel as one chunk: Read cuts it to the size
// asked for, in order, with the group on each; Ack frees the bytes of
// exactly the events acknowledged; DropUnread fails the unread part of a
// cut chunk and the chunks behind it.
func TestMemoryCutsChunks(t *testing.T) {
	m := NewMemory(7, 1000)
	ctx := context.Background()
	var gerr []error
	g := NewGroup(5, func(err error) { gerr = append(gerr, err) })
	evs := []*event.Event{memEvent(10), memEvent(11), memEvent(12), memEvent(13), memEvent(14)}
	if err := m.AppendGroup(ctx, g, evs...); err != nil {
		t.Fatal(err)
	}
	if err := m.Append(ctx, memEvent(20), memEvent(21)); err != nil {
		t.Fatal(err)
	}
	if n, b := m.Stats(); n != 7 || b != 101 {
		t.Fatalf("stats %d events %d bytes, want 7 and 101", n, b)
	}
	var sizes []int
	read := func(max int) []Entry {
		t.Helper()
		es, err := m.Read(ctx, max)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			sizes = append(sizes, len(e.Event.Raw))
			if (len(e.Event.Raw) < 20) != (e.Group == g) {
				t.Errorf("event of %d bytes has group %p", len(e.Event.Raw), e.Group)
			}
		}
		return es
	}
	first := read(2)
	second := read(2)
	if len(first) != 2 || len(second) != 2 {
		t.Fatalf("reads of 2: %d then %d events", len(first), len(second))
	}
	if err := m.Ack(second[0].Pos, second[1].Pos); err != nil {
		t.Fatal(err)
	}
	if n, b := m.Stats(); n != 5 || b != 101-12-13 {
		t.Fatalf("after acknowledging the 2nd read: %d events %d bytes", n, b)
	}
	third := read(3) // the chunk's last event, then the next chunk's first two
	if len(third) != 3 || sizes[len(sizes)-1] != 21 {
		t.Fatalf("third read: %v", sizes)
	}
	want := []int{10, 11, 12, 13, 14, 20, 21}
	for i := range want {
		if sizes[i] != want[i] {
			t.Fatalf("order %v, want %v", sizes, want)
		}
	}

	// Cut a chunk, then drop: the unread part and what follows are
	// dropped, and the group hears it once, with the error.
	m2 := NewMemory(4, 1000)
	g2 := NewGroup(3, func(err error) { gerr = append(gerr, err) })
	if err := m2.AppendGroup(ctx, g2, memEvent(1), memEvent(2), memEvent(3)); err != nil {
		t.Fatal(err)
	}
	if err := m2.Append(ctx, memEvent(4)); err != nil {
		t.Fatal(err)
	}
	es, err := m2.Read(ctx, 1)
	if err != nil || len(es) != 1 {
		t.Fatalf("read %v %v", es, err)
	}
	es[0].Group.Settle(1)
	if n := m2.DropUnread(ErrClosed); n != 3 {
		t.Fatalf("DropUnread: %d, want 3 (two of the cut chunk, one behind it)", n)
	}
	if n, b := m2.Stats(); n != 1 || b != 1 {
		t.Fatalf("after DropUnread: %d events %d bytes, want the 1 read", n, b)
	}
	if len(gerr) != 1 || !errors.Is(gerr[0], ErrClosed) {
		t.Fatalf("group results %v, want one ErrClosed", gerr)
	}

	// A Read asking for nothing still gets one event, never a cut to
	// nothing that would lose the rest of the chunk.
	m3 := NewMemory(4, 1000)
	if err := m3.Append(ctx, memEvent(7), memEvent(8)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []int{7, 8} {
		if es, err := m3.Read(ctx, 0); err != nil || len(es) != 1 || len(es[0].Event.Raw) != want {
			t.Fatalf("Read(0): %v %v, want the %d-byte event", es, err, want)
		}
	}
}

// queue_size counts events, not appends: a read's worth of messages in one
// append takes as many places as it has events.
func TestMemoryCountsEvents(t *testing.T) {
	m := NewMemory(3, 1<<20)
	if err := m.TryAppend(memEvent(1), memEvent(2)); err != nil {
		t.Fatal(err)
	}
	if err := m.TryAppend(memEvent(3), memEvent(4)); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("2 more events into 1 free place: %v, want ErrQueueFull", err)
	}
	if err := m.TryAppend(memEvent(5)); err != nil {
		t.Fatalf("1 event into 1 free place: %v", err)
	}
	es, err := m.Read(context.Background(), 10)
	if err != nil || len(es) != 3 {
		t.Fatalf("read %d, %v", len(es), err)
	}
	if err := m.Ack(es[0].Pos, es[2].Pos); err != nil {
		t.Fatal(err)
	}
	if err := m.TryAppend(memEvent(6), memEvent(7), memEvent(8)); err != nil {
		t.Fatalf("after Ack: %v", err)
	}
}

// Under load (chunks waiting) a read sizes its entries once instead of
// growing them chunk by chunk.
func TestMemoryReadAllocatesOnce(t *testing.T) {
	m := NewMemory(100000, 1<<30)
	ctx := context.Background()
	chunk := make([]*event.Event, 50)
	for i := range chunk {
		chunk[i] = memEvent(10)
	}
	allocs := testing.AllocsPerRun(10, func() {
		for range 20 {
			if err := m.Append(ctx, chunk...); err != nil {
				t.Fatal(err)
			}
		}
		es, err := m.Read(ctx, 1000)
		if err != nil || len(es) != 1000 {
			t.Fatalf("read %d entries, %v; want 1000", len(es), err)
		}
		if err := m.Ack(es[0].Pos, es[len(es)-1].Pos); err != nil {
			t.Fatal(err)
		}
	})
	// Appending a chunk allocates nothing; the read, its entries once
	// (growing them chunk by chunk took 6).
	if allocs != 1 {
		t.Fatalf("%v allocations per 20 appends and a read, want 1", allocs)
	}
}
