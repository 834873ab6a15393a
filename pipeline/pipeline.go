package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/semaphore"

	"github.com/logshipper/logshipper/buffer"
	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/internal/backoff"
	"github.com/logshipper/logshipper/internal/diskio"
	"github.com/logshipper/logshipper/metrics"
)

// Config sizes the pipeline. Every queue is bounded: besides what its
// buffer holds (the memory buffer: QueueSize events, QueueBytes bytes), the
// pipeline holds at most about (2*Workers + Workers + 1) * BatchCount
// events, each at most the input's maximum message size.
type Config struct {
	// QueueSize is how many events the memory buffer holds between the
	// inputs and the batcher. When it is full, TCP reads stop and UDP
	// datagrams drop.
	QueueSize int `mapstructure:"queue_size"`
	// QueueBytes bounds the message bytes the memory buffer holds from
	// input to confirmation, whatever the message sizes: the same
	// back-pressure and drops apply when it is reached.
	QueueBytes int `mapstructure:"queue_bytes"`
	// A batch is cut at BatchCount events, at BatchBytes bytes of raw
	// messages, or FlushInterval after its first event, whichever is first.
	BatchCount    int           `mapstructure:"batch_count"`
	BatchBytes    int           `mapstructure:"batch_bytes"`
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// Workers is how many bulk requests may be in flight at once.
	Workers int `mapstructure:"workers"`
	// Retries back off exponentially from RetryInitial up to RetryMax,
	// with full jitter, and go on until delivered or shut down.
	RetryInitial time.Duration `mapstructure:"retry_initial"`
	RetryMax     time.Duration `mapstructure:"retry_max"`
	// AssignIDs gives every queued event an ID (event.Event.ID) that stays
	// with it through retries, so the output can make re-sends idempotent.
	AssignIDs bool `mapstructure:"-"`
	// Events is the shared account the pipeline adds to (queued, indexed,
	// dead-lettered, retried, dropped, parse failures); Disk
	// counts the dead-letter file's failures. nil: private ones (tests).
	Events *metrics.Events `mapstructure:"-"`
	Disk   *metrics.Disk   `mapstructure:"-"`
}

// DefaultConfig suits a 2-core machine: two bulk requests in flight keep
// Elasticsearch busy while the other core parses; batches of 1000
// messages (~0.3 MB of documents) are well inside the 5–15 MB that
// Elasticsearch's tuning guide suggests as an upper bound, and small
// enough that a retry resends little. The queue holds 32768 events
// (~0.3 s of a 100k msgs/s UDP stream: enough to ride out a stalled bulk
// request or a busy core without dropping; measured: 0 lost at 100k/s,
// where 8192 lost up to 12% on a busy machine), but never more than 16 MiB
// of messages; peak RSS at full TCP speed stays under 100 MiB (75 MB
// with Go's default GC; see cmd/logshipper/gc.go).
func DefaultConfig() Config {
	return Config{
		QueueSize:     32768,
		QueueBytes:    16 << 20,
		BatchCount:    1000,
		BatchBytes:    5 << 20,
		FlushInterval: time.Second,
		Workers:       2,
		RetryInitial:  100 * time.Millisecond,
		RetryMax:      5 * time.Second,
	}
}

// Validate reports the first bad value as one line naming its key.
func (c Config) Validate() error {
	switch {
	case c.QueueSize < 1 || c.QueueSize > 1<<24:
		return fmt.Errorf("pipeline.queue_size: %d is out of range; use 1 to 16777216 (default 32768)", c.QueueSize)
	case c.QueueBytes < 64<<10:
		return fmt.Errorf("pipeline.queue_bytes: %d is too small; use 65536 or more (default 16777216)", c.QueueBytes)
	case c.BatchCount < 1:
		return fmt.Errorf("pipeline.batch_count: %d is too small; use 1 or more (default 1000)", c.BatchCount)
	case c.BatchBytes < 1024:
		return fmt.Errorf("pipeline.batch_bytes: %d is too small; use 1024 or more (default 5242880)", c.BatchBytes)
	case c.FlushInterval <= 0:
		return fmt.Errorf("pipeline.flush_interval: %s must be positive, e.g. 1s", c.FlushInterval)
	case c.Workers < 1 || c.Workers > 64:
		return fmt.Errorf("pipeline.workers: %d is out of range; use 1 to 64 (default 2)", c.Workers)
	case c.RetryInitial <= 0:
		return fmt.Errorf("pipeline.retry_initial: %s must be positive, e.g. 100ms", c.RetryInitial)
	case c.RetryMax < c.RetryInitial:
		return fmt.Errorf("pipeline.retry_max: %s is below pipeline.retry_initial %s", c.RetryMax, c.RetryInitial)
	}
	return nil
}

// Stats counts what became of the events a pipeline took in.
type Stats struct {
	Delivered int64 // confirmed by the output
	Rejected  int64 // refused for good, written to the dead-letter file
	// Lost were still unsettled when the shutdown deadline passed, with a
	// buffer that is not durable (memory). A durable one (disk) keeps such
	// events and they are sent after the next start: they count as Left,
	// never as Lost; so do events an acknowledging input handed over with
	// PutBatch, which its broker delivers again.
	Lost int64
	Left int64
}

// queued is an event on its way to the batcher, with its place in the
// buffer.
type queued struct {
	ev  *event.Event
	pos buffer.Pos
	grp *buffer.Group // the input's acknowledgement group, if any
}

// batch is a unit of delivery. Once every event in it is settled
// (delivered or dead-lettered), the buffer is told so (Ack of first
// through last); only then may it forget them.
type batch struct {
	events      []*event.Event
	first, last buffer.Pos
	// groups[i] is events[i]'s acknowledgement group; nil (the slice)
	// while no event of the batch has one.
	groups []*buffer.Group
}

// finish tells the batch's acknowledgement groups what became of it:
// every event settled, or given up at the shutdown deadline.
func (b batch) finish(settled bool) {
	for _, g := range b.groups {
		switch {
		case g == nil:
		case settled:
			g.Settle(1)
		default:
			g.Fail(1, ErrGivenUp)
		}
	}
}

// Pipeline is the bounded path from Sink to Output.
type Pipeline struct {
	cfg  Config
	out  Output
	dlq  DeadLetter
	log  zerolog.Logger
	warn zerolog.Logger // sampled: per-batch trouble must not flood the log

	// buf holds the events from the inputs until they are settled; a
	// reader feeds the queue from it (parsing what it reads, when parse
	// is set) and the workers acknowledge settled batches to it.
	buf     Buffer
	durable bool
	parse   func(*event.Event)
	queue   chan []queued // what one Read of the buffer returned, parsed
	batches chan batch
	// spare holds the queue's slices the batcher is done with, for the
	// reader's next Read (a slice per Read was 48 bytes per event).
	spare sync.Pool

	closing   chan struct{} // closed when Close starts: stop taking input
	closeOnce sync.Once
	runCtx    context.Context // cancelled when the shutdown deadline passes
	cancelRun context.CancelFunc
	wg        sync.WaitGroup

	ids *idSource // nil unless cfg.AssignIDs

	// upstreamKeeps is set once an input hands events over with PutBatch
	// (Kafka, Redis): what it handed over and is given up at the shutdown
	// deadline is not acknowledged upstream, so the broker delivers it
	// again. Such events are left, like a durable buffer's, never lost.
	upstreamKeeps atomic.Bool
	// upstream bounds the events PutBatch handed over and are not yet
	// settled: an input that acknowledges upstream leaves its backlog in
	// the broker, so the pipeline holds only what keeps the workers busy
	// (while catching up, a broker's backlog would otherwise fill
	// queue_bytes with documents, each pinning its whole fetched batch).
	upstream *semaphore.Weighted

	delivered, rejected, lost, left atomic.Int64

	m *metrics.Events // = cfg.Events

	dlqFault atomic.Pointer[error] // set while the dead-letter store fails
	dlqWarn  zerolog.Logger        // sampled, for its retries
}

// Buffer holds events from the inputs until the output has settled them:
// buffer.Memory or buffer.WAL (on disk), the same to the pipeline.
type Buffer interface {
	// Append adds events, waiting while the buffer is full.
	Append(ctx context.Context, evs ...*event.Event) error
	// TryAppend adds all of evs if they fit now, else none.
	TryAppend(evs ...*event.Event) error
	// Commit returns once what was appended is durable (a no-op in memory).
	Commit(ctx context.Context) error
	// CommitSoon has what was appended made durable soon, without
	// waiting; WaitCommitted waits for it (no-ops in memory).
	CommitSoon() buffer.Mark
	WaitCommitted(ctx context.Context, m buffer.Mark) error
	// Read returns the next events in order, waiting for the first;
	// io.EOF once closed and read to the end.
	Read(ctx context.Context, max int) ([]buffer.Entry, error)
	// Ack releases the events read from first through last.
	Ack(first, last buffer.Pos) error
	// Close stops appends; Read drains what is left.
	Close() error
	// Durable says whether what the buffer holds outlives the process:
	// then events unsettled at the shutdown deadline are left for the next
	// start, not lost.
	Durable() bool
}

// New builds and starts a pipeline that takes its events from buf.
// parse, when set, fills the parsed fields of each event read from buf
// (nil: the inputs parsed them). Events without an ID from buf (the
// memory buffer's) get one when cfg.AssignIDs; the WAL's carry their
// stable IDs, so re-sends after a crash are idempotent. dlq may be nil only
// if out never rejects (tests); a rejected event without a dead-letter
// store is logged.
func New(cfg Config, buf Buffer, parse func(*event.Event), out Output, dlq DeadLetter, log zerolog.Logger) (*Pipeline, error) {
	if buf == nil {
		return nil, errors.New("pipeline: New needs a buffer")
	}
	p, err := newPipeline(cfg, out, dlq, log)
	if err != nil {
		return nil, err
	}
	p.buf, p.durable, p.parse = buf, buf.Durable(), parse
	p.wg.Add(1)
	go p.runReader()
	p.start()
	return p, nil
}

// NewMemoryBuffer is the memory buffer cfg describes: QueueSize events,
// QueueBytes bytes.
func NewMemoryBuffer(cfg Config) *buffer.Memory {
	return buffer.NewMemory(cfg.QueueSize, int64(cfg.QueueBytes))
}

// upstreamLimit is how many events PutBatch lets be in the pipeline at
// once: two batches per worker in delivery or ready, and two more being
// read and cut.
func upstreamLimit(cfg Config) int64 { return int64((2*cfg.Workers + 2) * cfg.BatchCount) }

// queueLen is the queue between the buffer's reader and the batcher, in
// reads of at most BatchCount events: two batches per worker keep the
// workers busy; the events wait in the buffer.
func queueLen(cfg Config) int { return 2 * cfg.Workers }

func newPipeline(cfg Config, out Output, dlq DeadLetter, log zerolog.Logger) (*Pipeline, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pipeline{
		cfg:       cfg,
		out:       out,
		dlq:       dlq,
		log:       log,
		warn:      log.Sample(&zerolog.BurstSampler{Burst: 3, Period: 10 * time.Second}),
		dlqWarn:   log.Sample(&zerolog.BurstSampler{Burst: 3, Period: 10 * time.Second}),
		queue:     make(chan []queued, queueLen(cfg)),
		upstream:  semaphore.NewWeighted(upstreamLimit(cfg)),
		batches:   make(chan batch), // unbuffered: a cut batch waits for a free worker
		closing:   make(chan struct{}),
		runCtx:    ctx,
		cancelRun: cancel,
	}
	if p.cfg.Events == nil {
		p.cfg.Events = metrics.NewEvents(nil)
	}
	if p.cfg.Disk == nil {
		p.cfg.Disk = metrics.NewDisk(nil)
	}
	p.m = p.cfg.Events
	if cfg.AssignIDs {
		p.ids = newIDSource()
	}
	return p, nil
}

func (p *Pipeline) start() {
	p.wg.Add(1 + p.cfg.Workers)
	go p.runBatcher()
	for range p.cfg.Workers {
		go p.runWorker()
	}
}

// Put implements Sink.
func (p *Pipeline) Put(ctx context.Context, evs ...*event.Event) error {
	select {
	case <-p.closing:
		return ErrClosed
	default:
	}
	return appendError(p.buf.Append(ctx, evs...))
}

// TryPut implements Sink: all of evs in one append when they fit, else
// one by one, so a nearly full queue still takes what it has room for.
func (p *Pipeline) TryPut(evs ...*event.Event) (int, error) {
	select {
	case <-p.closing:
		return 0, ErrClosed
	default:
	}
	err := p.buf.TryAppend(evs...)
	if err == nil {
		return len(evs), nil
	}
	if len(evs) == 1 || !(errors.Is(err, buffer.ErrQueueFull) || errors.Is(err, buffer.ErrFull)) {
		return 0, appendError(err)
	}
	n := 0
	for _, ev := range evs {
		if e := p.buf.TryAppend(ev); e != nil {
			err = e
			continue
		}
		n++
	}
	if n == len(evs) {
		return n, nil
	}
	return n, appendError(err)
}

// PutBatch hands over evs as Put does, and calls done once they are safe
// downstream: with a durable buffer as soon as they are on disk (the
// buffer takes over); otherwise once the output has settled every one of
// them (done(nil): delivered or dead-lettered), or when one was given up
// at the shutdown deadline (done(ErrGivenUp)). This is how an input that
// must acknowledge upstream (a Kafka offset, a Redis XACK) learns when it
// may. If PutBatch fails, done is never called and the caller still owns
// the events (some may have been handed over: their IDs make a re-send
// harmless with a durable buffer or an output that assigns none).
func (p *Pipeline) PutBatch(ctx context.Context, evs []*event.Event, done func(error)) error {
	select {
	case <-p.closing:
		return ErrClosed
	default:
	}
	if p.durable {
		if err := appendError(p.buf.Append(ctx, evs...)); err != nil {
			return err
		}
		if err := p.buf.Commit(ctx); err != nil {
			return err
		}
		done(nil)
		return nil
	}
	p.upstreamKeeps.Store(true)
	ga, ok := p.buf.(interface {
		AppendGroup(context.Context, *buffer.Group, ...*event.Event) error
	})
	if !ok {
		return errors.New("pipeline: this buffer cannot acknowledge batches")
	}
	// A batch larger than the limit waits for an empty pipeline.
	n := min(int64(len(evs)), upstreamLimit(p.cfg))
	if err := p.upstream.Acquire(ctx, n); err != nil {
		return err
	}
	g := buffer.NewGroup(len(evs), func(err error) {
		p.upstream.Release(n)
		done(err)
	})
	if err := ga.AppendGroup(ctx, g, evs...); err != nil {
		p.upstream.Release(n)
		return appendError(err)
	}
	return nil
}

// appendError names a buffer's refusal the way Sink documents it.
func appendError(err error) error {
	var fault *buffer.FaultError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, buffer.ErrQueueFull):
		return ErrQueueFull
	case errors.Is(err, buffer.ErrFull):
		return ErrBufferFull
	case errors.Is(err, buffer.ErrClosed):
		return ErrClosed
	case errors.As(err, &fault) && fault.Kind == diskio.KindFull:
		return fmt.Errorf("%w: %w", ErrDiskFull, err)
	case fault != nil:
		return fmt.Errorf("%w: %w", ErrDiskError, err)
	}
	return err
}

// Durable says whether Commit writes to disk (buffer.type disk): an input
// then commits before each read, and reads less often in larger pieces.
func (p *Pipeline) Durable() bool { return p.durable }

// Commit implements Sink: it returns once everything put so far is durable
// per the buffer's fsync policy (at once in memory). Inputs call it before
// they read more from a socket, so what they acknowledge by reading on is
// on disk.
func (p *Pipeline) Commit(ctx context.Context) error {
	return p.buf.Commit(ctx)
}

// CommitSoon implements Sink: what was put so far is made durable soon
// (with the disk buffer: written to its files now, fsynced within a few
// milliseconds together with other connections' events), without waiting.
func (p *Pipeline) CommitSoon() buffer.Mark { return p.buf.CommitSoon() }

// WaitCommitted implements Sink: it returns once what was put before m is
// durable, making it so now if it is not yet.
func (p *Pipeline) WaitCommitted(ctx context.Context, m buffer.Mark) error {
	return p.buf.WaitCommitted(ctx, m)
}

// Close stops taking events, flushes what is queued and waits until every
// event is settled or ctx is done. Call it after the inputs have stopped,
// so nothing is still putting. With the memory buffer what is left at the
// deadline is lost (metric logshipper_events_dropped_total{reason="shutdown"});
// in a durable buffer it stays for the next start. Close closes the buffer
// for appends; the reader drains it.
func (p *Pipeline) Close(ctx context.Context) Stats {
	p.closeOnce.Do(func() {
		close(p.closing)
		// No more appends; the reader drains what is left, then sees io.EOF.
		if err := p.buf.Close(); err != nil {
			p.log.Error().Err(err).Msg("closing the buffer")
		}
	})
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		p.cancelRun() // abort in-flight requests and backoffs
		<-done
	}
	// What a memory buffer still holds unread at the deadline is lost.
	if m, ok := p.buf.(interface{ DropUnread(error) int }); ok && !p.durable {
		if n := m.DropUnread(ErrGivenUp); n > 0 {
			p.giveUp(n, metrics.DropShutdown)
		}
	}
	return p.Stats()
}

// Stats is a snapshot of the counters.
func (p *Pipeline) Stats() Stats {
	return Stats{Delivered: p.delivered.Load(), Rejected: p.rejected.Load(), Lost: p.lost.Load(), Left: p.left.Load()}
}

// runReader feeds the queue from the buffer, parsing what it reads. It
// ends when the buffer is closed and read to the end, or at the shutdown
// deadline; either way it closes the queue, which ends the batcher.
// Whatever it read but could not queue stays unacknowledged in a durable
// buffer and is read again after the next start; from the memory buffer it
// is lost, and counted.
func (p *Pipeline) runReader() {
	defer p.wg.Done()
	defer close(p.queue)
	for attempt := 0; ; {
		entries, err := p.buf.Read(p.runCtx, p.cfg.BatchCount)
		if errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) {
			return
		}
		if err != nil {
			// An I/O error reading the disk: the same records are read
			// again on the next call.
			p.warn.Error().Err(err).Int("attempt", attempt+1).Msg("reading the disk buffer failed; retrying")
			if !backoff.Sleep(p.runCtx, backoff.Wait(p.cfg.RetryInitial, p.cfg.RetryMax, attempt)) {
				return
			}
			attempt++
			continue
		}
		attempt = 0
		qs := p.queuedSlice(len(entries))
		for i, e := range entries {
			if e.ID != "" {
				e.Event.ID = e.ID
			}
			qs[i] = queued{ev: e.Event, pos: e.Pos, grp: e.Group}
		}
		if p.ids != nil {
			p.ids.assign(qs)
		}
		if p.parse != nil {
			failed := 0
			for _, q := range qs {
				if q.ev.Document == nil {
					p.parseSafely(q.ev)
					if q.ev.ParseFailed {
						failed++
					}
				}
			}
			if failed > 0 {
				p.m.ParseFailures.Add(float64(failed))
			}
		}
		select {
		case p.queue <- qs:
			p.m.Queued.Add(float64(len(qs)))
		case <-p.runCtx.Done():
			for _, e := range entries {
				if e.Group != nil {
					e.Group.Fail(1, ErrGivenUp)
				}
			}
			if !p.durable {
				p.giveUp(len(entries), metrics.DropShutdown)
			}
			return
		}
	}
}

// queuedSlice returns a slice of n for one Read's events: a spare one
// the batcher handed back if it is large enough.
func (p *Pipeline) queuedSlice(n int) []queued {
	if sp, ok := p.spare.Get().(*[]queued); ok && cap(*sp) >= n {
		return (*sp)[:n]
	}
	return make([]queued, n)
}

// recycle hands a slice the batcher has copied out back to the reader,
// emptied so that it keeps no event alive.
func (p *Pipeline) recycle(qs []queued) {
	clear(qs)
	p.spare.Put(&qs)
}

// parseSafely runs parse, keeping the event unparsed (a parse failure) if
// it panics: a parser bug triggered by one crafted message must cost that
// message its fields, not the process. (package parser recovers by itself;
// this guards any other parse function.)
func (p *Pipeline) parseSafely(ev *event.Event) {
	defer func() {
		if r := recover(); r != nil {
			p.warn.Error().Interface("panic", r).Str("source_ip", ev.SourceIP).
				Bytes("raw_prefix", ev.Raw[:min(len(ev.Raw), 200)]).Msg("parser panicked; event kept unparsed")
			*ev = event.Event{
				ID:          ev.ID,
				Received:    ev.Received,
				Transport:   ev.Transport,
				SourceIP:    ev.SourceIP,
				ProxyIP:     ev.ProxyIP,
				Raw:         ev.Raw,
				Truncated:   ev.Truncated,
				Priority:    event.DefaultPriority,
				Message:     string(ev.Raw),
				ParseFailed: true,
			}
		}
	}()
	p.parse(ev)
}

// runBatcher cuts batches from the queue. The reader closes the queue
// once the buffer is closed and drained; the batcher then flushes what it
// has and lets the workers go.
func (p *Pipeline) runBatcher() {
	defer p.wg.Done()
	defer close(p.batches)

	timer := time.NewTimer(p.cfg.FlushInterval)
	timer.Stop()
	var (
		cur   batch
		bytes int
	)
	flush := func() {
		if len(cur.events) == 0 {
			return
		}
		b := cur
		cur, bytes = batch{}, 0
		timer.Stop()
		select {
		case p.batches <- b:
		case <-p.runCtx.Done():
			p.abandon(len(b.events), metrics.DropShutdown)
			p.ack(b, false)
			b.finish(false)
		}
	}
	add := func(q queued) {
		if len(cur.events) == 0 {
			cur.events = make([]*event.Event, 0, p.cfg.BatchCount)
			cur.first = q.pos
			timer.Reset(p.cfg.FlushInterval)
		}
		if q.grp != nil && cur.groups == nil {
			cur.groups = make([]*buffer.Group, len(cur.events), cap(cur.events))
		}
		if cur.groups != nil {
			cur.groups = append(cur.groups, q.grp)
		}
		cur.events = append(cur.events, q.ev)
		cur.last = q.pos
		bytes += q.ev.Size()
		if len(cur.events) >= p.cfg.BatchCount || bytes >= p.cfg.BatchBytes {
			flush()
		}
	}

	for {
		select {
		case qs, ok := <-p.queue:
			if !ok {
				flush()
				return
			}
			for _, q := range qs {
				add(q)
			}
			p.recycle(qs)
		case <-timer.C:
			flush()
		}
	}
}

func (p *Pipeline) runWorker() {
	defer p.wg.Done()
	for b := range p.batches {
		settled := p.deliver(b)
		p.ack(b, settled)
		b.finish(settled)
	}
}

// ack tells the buffer a batch is done with: settled, or (memory buffer)
// given up at the shutdown deadline, which frees its room all the same. A
// durable buffer keeps what was not settled for the next start.
func (p *Pipeline) ack(b batch, settled bool) {
	if !settled && p.durable {
		return
	}
	if err := p.buf.Ack(b.first, b.last); err != nil {
		// The disk buffer reports a failing ack file itself (a fault,
		// retried); the acknowledgement holds in memory.
		p.warn.Warn().Err(err).Msg("buffer acknowledgement not written; after a restart these events may be sent again (their IDs prevent duplicates)")
	}
}

// deliver sends one batch until every event is settled, retrying the
// events the output asked to retry, with capped exponential backoff and
// full jitter. It only gives up when the shutdown deadline has passed, and
// reports whether every event was settled.
func (p *Pipeline) deliver(b batch) bool {
	ctx := p.runCtx
	pending := b.events
	for attempt := 0; ; attempt++ {
		results, err := p.out.WriteBatch(ctx, pending)
		if err == nil && len(results) != len(pending) {
			err = fmt.Errorf("output returned %d results for %d events", len(results), len(pending))
		}
		var retry []*event.Event
		if err != nil {
			retry = pending
			p.warn.Warn().Err(err).Int("events", len(pending)).Int("attempt", attempt+1).
				Msg("bulk request failed; retrying the whole batch")
		} else {
			var delivered, rejected, unsettled int
			var firstReason string
			for i, r := range results {
				switch r.Status {
				case Delivered:
					delivered++
				case Rejected:
					if p.deadLetter(r) {
						rejected++
					} else {
						unsettled++ // the shutdown deadline passed first
					}
				default:
					if firstReason == "" {
						firstReason = r.Reason
					}
					retry = append(retry, pending[i])
				}
			}
			p.settle(delivered, rejected)
			if unsettled > 0 {
				p.abandon(unsettled, metrics.DropDeadLetter)
				p.abandon(len(retry), metrics.DropShutdown)
				return false
			}
			if len(retry) > 0 {
				p.warn.Warn().Int("retrying", len(retry)).Int("of", len(pending)).Str("reason", firstReason).
					Msg("Elasticsearch asked to retry some events")
			}
		}
		if len(retry) == 0 {
			return true
		}
		p.m.Retried.Add(float64(len(retry)))
		pending = retry
		if !backoff.Sleep(ctx, backoff.Wait(p.cfg.RetryInitial, p.cfg.RetryMax, attempt)) {
			p.abandon(len(pending), metrics.DropShutdown)
			return false
		}
	}
}

func (p *Pipeline) settle(delivered, rejected int) {
	p.delivered.Add(int64(delivered))
	p.rejected.Add(int64(rejected))
	p.m.Indexed.Add(float64(delivered))
	p.m.Failed.Add(float64(rejected))
	p.m.Queued.Sub(float64(delivered + rejected))
}

// abandon accounts for events given up at the shutdown deadline: lost
// from a memory buffer (counted under reason), left in a durable one for
// the next start.
func (p *Pipeline) abandon(n int, reason string) {
	p.m.Queued.Sub(float64(n))
	if p.durable {
		p.left.Add(int64(n))
		return
	}
	p.giveUp(n, reason)
}

// giveUp accounts for n events of a memory buffer given up at the shutdown
// deadline: left in the broker when an acknowledging input handed them
// over (never acknowledged, delivered again), otherwise lost.
func (p *Pipeline) giveUp(n int, reason string) {
	if p.upstreamKeeps.Load() {
		p.left.Add(int64(n))
		return
	}
	p.lost.Add(int64(n))
	p.m.Dropped.WithLabelValues(reason).Add(float64(n))
}

// deadLetter writes a rejected event to the dead-letter store, retrying
// with backoff while it fails (a full or failing disk): the batch waits,
// and so, through the bounded queue, do the senders, rather than an event
// Elasticsearch refused being lost. It reports false only when the
// shutdown deadline passed first; the document is then logged whole, the
// last place it can go.
func (p *Pipeline) deadLetter(r Result) bool {
	return p.writeDeadLetter(p.runCtx, r.Index, r.Document, r.Reason, "Elasticsearch rejected an event")
}

// DeadLetter writes doc, which an input cannot hand over as an event (a
// queue record that is not an edge's), to the dead-letter file the way
// rejected events go there: retried with backoff while the file cannot be
// written, the fault shown in /metrics and /readyz meanwhile, counted as
// failed once written; logged instead when there is no file. False if ctx
// or the shutdown deadline ended the wait first: the caller keeps the
// record (it is read again).
func (p *Pipeline) DeadLetter(ctx context.Context, index string, doc []byte, reason string) bool {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(p.runCtx, cancel)
	defer stop()
	if !p.writeDeadLetter(ctx, index, doc, reason, "a record that is not an event") {
		return false
	}
	p.m.Failed.Inc()
	return true
}

// writeDeadLetter writes one document to the dead-letter file, retrying
// until it is written or ctx is done; what names the document in the log.
func (p *Pipeline) writeDeadLetter(ctx context.Context, index string, doc []byte, reason, what string) bool {
	if p.dlq == nil {
		p.log.Error().Str("index", index).Str("reason", reason).RawJSON("document", doc).
			Msg(what + " and no dead-letter file is configured")
		return true
	}
	for attempt := 0; ; attempt++ {
		err := p.dlq.Write(index, doc, reason)
		if err == nil {
			// Any write that works ends a fault, also one an earlier
			// caller left behind when it stopped waiting.
			if p.dlqFault.Swap(nil) != nil {
				p.cfg.Disk.Healed(metrics.DiskDeadLetter)
				p.log.Info().Int("attempts", attempt+1).Msg("dead-letter file writable again")
			}
			p.warn.Warn().Str("index", index).Str("reason", reason).Msg(what + "; written to the dead-letter file")
			return true
		}
		if attempt == 0 {
			p.dlqFault.Store(&err)
			p.cfg.Disk.Failing(metrics.DiskDeadLetter, diskio.Classify(err))
		}
		p.dlqWarn.Error().Err(err).Int("attempt", attempt+1).
			Msg("cannot write " + what + " to the dead-letter file; retrying, its batch waits (free space or fix dead_letter.path)")
		if !backoff.Sleep(ctx, backoff.Wait(p.cfg.RetryInitial, p.cfg.RetryMax, attempt)) {
			p.log.Error().Err(err).Str("index", index).Str("reason", reason).RawJSON("document", doc).
				Msg("stopped before the dead-letter file could be written; " + what + " is in this log line instead")
			return false
		}
	}
}

// DeadLetterFault is the dead-letter store's failure while rejected
// events wait for it, nil otherwise. For readiness checks.
func (p *Pipeline) DeadLetterFault() error {
	if e := p.dlqFault.Load(); e != nil {
		return *e
	}
	return nil
}
