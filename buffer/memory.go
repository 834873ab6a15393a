package buffer

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"github.com/logshipper/logshipper/event"
)

// ErrQueueFull is returned by Memory.TryAppend when the event does not fit
// in the memory buffer now (too many events, or too many bytes).
var ErrQueueFull = errors.New("buffer: memory queue full")

// Memory is the buffer without a disk: the same methods as WAL, so the
// pipeline reads, and acknowledges, either one the same way. It holds at
// most maxEvents events waiting to be read, and at most maxBytes message
// bytes from Append until Ack (one event always fits, so no message is too
// big to ever pass). What it holds is lost with the process: Durable is
// false. Events have no ID here; the pipeline gives them one.
type Memory struct {
	queue   chan queued
	gate    byteGate
	closing chan struct{}
	close   sync.Once

	// Read hands out positions that carry each event's size and the bytes
	// read before it, so Ack knows how many bytes a run releases.
	readMu    sync.Mutex
	readBytes uint64
	reads     uint64
	held      atomic.Int64 // events appended and not yet acknowledged
}

// NewMemory returns a memory buffer for maxEvents waiting events and
// maxBytes held message bytes.
func NewMemory(maxEvents int, maxBytes int64) *Memory {
	return &Memory{
		queue:   make(chan queued, maxEvents),
		gate:    byteGate{max: maxBytes},
		closing: make(chan struct{}),
	}
}

// Append adds evs in order, waiting while the buffer is full (the
// back-pressure that stops TCP reads). It fails with ctx's error, or
// ErrClosed after Close; the events before the failing one are added.
func (m *Memory) Append(ctx context.Context, evs ...*event.Event) error {
	return m.AppendGroup(ctx, nil, evs...)
}

// queued is an event in the memory buffer, with the group it was appended
// in (nil for most).
type queued struct {
	ev  *event.Event
	grp *Group
}

// AppendGroup is Append for events that g acknowledges (the reader hands
// g out with each of them, in Entry.Group). Events not appended (an error)
// are not counted in g: the caller fails them.
func (m *Memory) AppendGroup(ctx context.Context, g *Group, evs ...*event.Event) error {
	for _, ev := range evs {
		if err := m.append(ctx, queued{ev, g}); err != nil {
			return err
		}
	}
	return nil
}

func (m *Memory) append(ctx context.Context, q queued) error {
	ev := q.ev
	select {
	case <-m.closing:
		return ErrClosed
	default:
	}
	n := int64(ev.Size())
	if err := m.gate.acquire(ctx, m.closing, n); err != nil {
		return err
	}
	select {
	case m.queue <- q:
		m.held.Add(1)
		return nil
	case <-ctx.Done():
		m.gate.release(n)
		return ctx.Err()
	case <-m.closing:
		m.gate.release(n)
		return ErrClosed
	}
}

// TryAppend adds evs if they fit now; otherwise ErrQueueFull (or
// ErrClosed), and the events before the one that did not fit are added.
func (m *Memory) TryAppend(evs ...*event.Event) error {
	for _, ev := range evs {
		if err := m.tryAppend(ev); err != nil {
			return err
		}
	}
	return nil
}

func (m *Memory) tryAppend(ev *event.Event) error {
	select {
	case <-m.closing:
		return ErrClosed
	default:
	}
	n := int64(ev.Size())
	if !m.gate.tryAcquire(n) {
		return ErrQueueFull
	}
	select {
	case m.queue <- queued{ev: ev}:
		m.held.Add(1)
		return nil
	default:
		m.gate.release(n)
		return ErrQueueFull
	}
}

// Commit returns at once: nothing in memory gets more durable.
func (m *Memory) Commit(context.Context) error { return nil }

// Read returns between 1 and max events in the order they were appended,
// waiting for the first. After Close it returns what is left, then io.EOF.
func (m *Memory) Read(ctx context.Context, max int) ([]Entry, error) {
	var first queued
	select {
	case first = <-m.queue:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-m.closing:
		select {
		case first = <-m.queue:
		default:
			return nil, io.EOF
		}
	}
	entries := make([]Entry, 0, min(max, 1+len(m.queue)))
	m.readMu.Lock()
	defer m.readMu.Unlock()
	add := func(q queued) {
		size := uint64(q.ev.Size())
		m.reads++
		entries = append(entries, Entry{Event: q.ev, Group: q.grp, Pos: Pos{ord: m.reads, bord: m.readBytes, size: uint32(min(size, 1<<32-1))}})
		m.readBytes += size
	}
	add(first)
	for len(entries) < max {
		select {
		case q := <-m.queue:
			add(q)
		default:
			return entries, nil
		}
	}
	return entries, nil
}

// Ack releases the events read from first through last: their bytes make
// room for new ones.
func (m *Memory) Ack(first, last Pos) error {
	if last.ord < first.ord {
		return errors.New("buffer: Ack of a run that ends before it starts")
	}
	m.gate.release(int64(last.bord + uint64(last.size) - first.bord))
	m.held.Add(-int64(last.ord - first.ord + 1))
	return nil
}

// Close stops appends; Read returns what is left, then io.EOF.
func (m *Memory) Close() error {
	m.close.Do(func() { close(m.closing) })
	return nil
}

// Durable is false: what the memory buffer holds dies with the process.
func (m *Memory) Durable() bool { return false }

// Stats is the events held (appended, not acknowledged) and their bytes.
func (m *Memory) Stats() (events, bytes int64) { return m.held.Load(), m.gate.inUse() }

// DropUnread takes out the events appended and never read, failing their
// groups with err, and says how many there were: at the shutdown deadline,
// what is lost. Call it once nothing reads or appends any more.
func (m *Memory) DropUnread(err error) int {
	n := 0
	for {
		select {
		case q := <-m.queue:
			n++
			m.gate.release(int64(q.ev.Size()))
			m.held.Add(-1)
			if q.grp != nil {
				q.grp.Fail(1, err)
			}
		default:
			return n
		}
	}
}
