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
// most maxEvents events and at most maxBytes message bytes from Append
// until Ack (one append always fits, so no message or fetch is too big to
// ever pass). Counting events, not appends, keeps what a syslog input may
// queue the same whether it hands over one message or a read's worth at
// a time: the live heap, and so the collector's work under the soft
// memory limit, stays bounded by queue_size. What it holds is lost with the process: Durable is
// false. Events have no ID here; the pipeline gives them one.
//
// The events of one Append go in as one chunk (one channel send, one
// acquisition of bytes): a queue input hands over a fetch of a thousand
// documents at the cost of one event, not a thousand. Read cuts chunks to
// the size it is asked for.
type Memory struct {
	queue   chan chunk
	gate    byteGate // message bytes
	events  byteGate // events
	closing chan struct{}
	close   sync.Once

	// Read hands out positions that carry each event's size and the bytes
	// read before it, so Ack knows how many bytes a run releases.
	readMu    sync.Mutex
	rest      chunk // what the last Read took from the queue and did not return
	readBytes uint64
	reads     uint64
	held      atomic.Int64 // events appended and not yet acknowledged
}

// NewMemory returns a memory buffer for maxEvents waiting appends and
// maxBytes held message bytes.
func NewMemory(maxEvents int, maxBytes int64) *Memory {
	return &Memory{
		queue:   make(chan chunk, maxEvents),
		gate:    byteGate{max: maxBytes},
		events:  byteGate{max: int64(maxEvents)},
		closing: make(chan struct{}),
	}
}

// Append adds evs in order, waiting while the buffer is full (the
// back-pressure that stops TCP reads). It adds all of them or, failing
// with ctx's error or ErrClosed after Close, none. The buffer keeps evs
// (the slice) until they are read: the caller must not change it.
func (m *Memory) Append(ctx context.Context, evs ...*event.Event) error {
	return m.AppendGroup(ctx, nil, evs...)
}

// chunk is the events of one append, with the group they were appended
// in (nil for most). A single event is kept in one so that appending one
// allocates nothing.
type chunk struct {
	one  *event.Event
	many []*event.Event
	grp  *Group
}

func (c chunk) len() int {
	if c.one != nil {
		return 1
	}
	return len(c.many)
}

func (c chunk) at(i int) *event.Event {
	if c.one != nil {
		return c.one
	}
	return c.many[i]
}

// bytes is what the chunk's events weigh in the byte gate.
func (c chunk) bytes() int64 {
	if c.one != nil {
		return int64(c.one.Size())
	}
	var n int64
	for _, ev := range c.many {
		n += int64(ev.Size())
	}
	return n
}

// AppendGroup is Append for events that g acknowledges (the reader hands
// g out with each of them, in Entry.Group). Events not appended (an error)
// are not counted in g: the caller fails them.
func (m *Memory) AppendGroup(ctx context.Context, g *Group, evs ...*event.Event) error {
	switch len(evs) {
	case 0:
		return nil
	case 1:
		return m.append(ctx, chunk{one: evs[0], grp: g})
	}
	return m.append(ctx, chunk{many: evs, grp: g})
}

func (m *Memory) append(ctx context.Context, c chunk) error {
	select {
	case <-m.closing:
		return ErrClosed
	default:
	}
	k := int64(c.len())
	if err := m.events.acquire(ctx, m.closing, k); err != nil {
		return err
	}
	n := c.bytes()
	if err := m.gate.acquire(ctx, m.closing, n); err != nil {
		m.events.release(k)
		return err
	}
	select {
	case m.queue <- c:
		m.held.Add(k)
		return nil
	case <-ctx.Done():
		m.gate.release(n)
		m.events.release(k)
		return ctx.Err()
	case <-m.closing:
		m.gate.release(n)
		m.events.release(k)
		return ErrClosed
	}
}

// TryAppend adds all of evs, as one chunk, if they fit now; otherwise
// none, and ErrQueueFull (or ErrClosed).
func (m *Memory) TryAppend(evs ...*event.Event) error {
	var c chunk
	switch len(evs) {
	case 0:
		return nil
	case 1:
		c = chunk{one: evs[0]}
	default:
		c = chunk{many: evs}
	}
	select {
	case <-m.closing:
		return ErrClosed
	default:
	}
	k := int64(c.len())
	if !m.events.tryAcquire(k) {
		return ErrQueueFull
	}
	n := c.bytes()
	if !m.gate.tryAcquire(n) {
		m.events.release(k)
		return ErrQueueFull
	}
	select {
	case m.queue <- c:
		m.held.Add(k)
		return nil
	default:
		m.gate.release(n)
		m.events.release(k)
		return ErrQueueFull
	}
}

// Commit returns at once: nothing in memory gets more durable.
func (m *Memory) Commit(context.Context) error { return nil }

// CommitSoon does nothing, as Commit.
func (m *Memory) CommitSoon() Mark { return 0 }

// WaitCommitted returns at once, as Commit.
func (m *Memory) WaitCommitted(context.Context, Mark) error { return nil }

// Read returns between 1 and max events in the order they were appended,
// waiting for the first. After Close it returns what is left, then io.EOF.
// Only one goroutine reads.
func (m *Memory) Read(ctx context.Context, max int) ([]Entry, error) {
	if max < 1 {
		max = 1 // a chunk is never cut to nothing
	}
	m.readMu.Lock()
	first := m.rest
	m.rest = chunk{}
	m.readMu.Unlock()
	if first.len() == 0 {
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
	}
	// Room for the chunks waiting now, taken to be the size of the first
	// (a reader's chunks are alike): growing by append instead cost 70%
	// more bytes allocated than the entries themselves under load.
	entries := make([]Entry, 0, min(max, first.len()*(1+len(m.queue))))
	m.readMu.Lock()
	defer m.readMu.Unlock()
	// take adds c's events from the i-th on, as many as fit; what does
	// not fit is the next Read's.
	take := func(c chunk, i int) {
		for ; i < c.len() && len(entries) < max; i++ {
			ev := c.at(i)
			size := uint64(ev.Size())
			m.reads++
			entries = append(entries, Entry{Event: ev, Group: c.grp, Pos: Pos{ord: m.reads, bord: m.readBytes, size: uint32(min(size, 1<<32-1))}})
			m.readBytes += size
		}
		if i < c.len() {
			m.rest = chunk{many: c.many[i:], grp: c.grp}
		}
	}
	take(first, 0)
	for len(entries) < max {
		select {
		case c := <-m.queue:
			take(c, 0)
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
	k := int64(last.ord - first.ord + 1)
	m.events.release(k)
	m.held.Add(-k)
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
	m.readMu.Lock()
	rest := m.rest
	m.rest = chunk{}
	m.readMu.Unlock()
	n := 0
	drop := func(c chunk) {
		k := c.len()
		if k == 0 {
			return
		}
		n += k
		m.gate.release(c.bytes())
		m.events.release(int64(k))
		m.held.Add(-int64(k))
		if c.grp != nil {
			c.grp.Fail(k, err)
		}
	}
	drop(rest)
	for {
		select {
		case c := <-m.queue:
			drop(c)
		default:
			return n
		}
	}
}
