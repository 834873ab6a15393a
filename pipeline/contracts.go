// Package pipeline moves events from the inputs to an output: the inputs
// append to a buffer (Buffer: in memory or on disk, the same here), a
// reader takes them out in order and parses them (the one place events are
// parsed), a batcher cuts batches on count, bytes or age, and a fixed set
// of workers deliver each batch, retry what the output asked to retry,
// dead-letter what it rejected, and only then acknowledge the batch to the
// buffer. Nothing in here knows about syslog or about HTTP.
package pipeline

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/logshipper/logshipper/buffer"
	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/metrics"
)

// Sink is what an input hands events to.
type Sink interface {
	// Put queues evs, all of them or (on an error) none, blocking while
	// the queue is full (or the disk buffer is full or its disk failing):
	// that is how a slow Elasticsearch, or a full disk, stops TCP reads. It
	// fails only when ctx is done. Inputs hand over what one read brought
	// in one call: one queue operation per read, not per message.
	Put(ctx context.Context, evs ...*event.Event) error
	// TryPut queues those of evs there is room for right now, in order,
	// and says how many. For the others it returns ErrQueueFull,
	// ErrBufferFull, ErrDiskFull, ErrDiskError or ErrClosed, which
	// DropReason names for the drop counter. For UDP, where blocking would
	// only move the loss into the kernel.
	TryPut(evs ...*event.Event) (int, error)
	// Commit returns once every event put so far is durable (disk buffer,
	// per its fsync policy), so that what an input has read counts as
	// received only once it is safe. Without a disk buffer it returns at
	// once.
	Commit(ctx context.Context) error
	// CommitSoon is Commit without the wait: every event put so far is
	// made durable soon (the disk buffer writes it now and fsyncs it
	// within buffer.Options.CommitDelay). WaitCommitted returns once the
	// events put before the mark are durable, making them so at once if
	// they are not yet. A TCP input calls CommitSoon before it waits for
	// more data and WaitCommitted when the data has come, before it hands
	// over more: quiet connections share fsyncs, busy ones still wait for
	// the disk between hand-overs. Without a disk buffer both return at once.
	CommitSoon() buffer.Mark
	WaitCommitted(ctx context.Context, m buffer.Mark) error
}

// BatchSink is what an input that acknowledges upstream (a Kafka offset
// commit, a Redis XACK) hands events to: the pipeline.
type BatchSink interface {
	// PutBatch queues evs and calls done once every one of them is safe
	// downstream (see Pipeline.PutBatch).
	PutBatch(ctx context.Context, evs []*event.Event, done func(error)) error
	// DeadLetter writes a record that is not an event to the dead-letter
	// file (see Pipeline.DeadLetter); false if ctx ended the wait first.
	DeadLetter(ctx context.Context, index string, doc []byte, reason string) bool
}

// ErrGivenUp is what a PutBatch acknowledgement reports for events given up
// at the shutdown deadline.
var ErrGivenUp = errors.New("pipeline: given up at the shutdown deadline")

// Why TryPut refused an event.
var (
	ErrQueueFull  = errors.New("pipeline: queue full")
	ErrBufferFull = errors.New("pipeline: disk buffer full")
	ErrClosed     = errors.New("pipeline: closed")
	// ErrDiskFull and ErrDiskError wrap the disk buffer's *buffer.FaultError:
	// its file system is full, or failing otherwise.
	ErrDiskFull  = errors.New("pipeline: disk buffer's file system full")
	ErrDiskError = errors.New("pipeline: disk buffer's disk failing")
)

// DropReason is the logshipper_events_dropped_total reason for a TryPut error.
func DropReason(err error) string {
	switch {
	case errors.Is(err, ErrBufferFull):
		return metrics.DropBufferFull
	case errors.Is(err, ErrDiskFull):
		return metrics.DropDiskFull
	case errors.Is(err, ErrDiskError):
		return metrics.DropDiskError
	case errors.Is(err, ErrClosed):
		return metrics.DropShutdown
	default:
		return metrics.DropQueueFull
	}
}

// Status is what became of one event of a batch.
type Status uint8

const (
	// Delivered: the output confirmed the event.
	Delivered Status = iota
	// Retry: a transient failure (429, 5xx, timeout); send it again later.
	Retry
	// Rejected: the output refused the event for good (mapping error,
	// other 4xx). It goes to the dead-letter file.
	Rejected
)

// Result is the fate of one event in a WriteBatch call.
type Result struct {
	Status Status
	// Index and Document are set for Rejected events: what was sent where,
	// so the dead-letter record can be replayed by hand.
	Index    string
	Document json.RawMessage
	// Reason is the output's error for Retry and Rejected events.
	Reason string
}

// Output delivers batches. It never retries by itself: it reports per
// event, and the pipeline decides what to send again and when.
type Output interface {
	// WriteBatch sends events and returns one Result per event, in order.
	// The results are the caller's to read, not to change: an output may
	// return the same slice from several calls.
	// A non-nil error means the request as a whole failed (unreachable,
	// timeout, 5xx on the request): every event is to be retried.
	WriteBatch(ctx context.Context, events []*event.Event) ([]Result, error)
	Close(ctx context.Context) error
}

// DeadLetter stores events an output rejected for good.
type DeadLetter interface {
	Write(index string, document json.RawMessage, reason string) error
	Close() error
}
