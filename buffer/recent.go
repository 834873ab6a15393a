package buffer

import (
	"time"

	"github.com/logshipper/logshipper/event"
)

// The events of the latest appends, kept so that a reader close behind the
// writers takes them as they are instead of reading their records back
// from the file, checking and decoding them and allocating them again. In
// the disk buffer's steady state (Elasticsearch keeping up) reading back
// was half of what the buffer allocated; keeping the events took it from
// 1.41-1.49 to 1.25-1.28 CPU-s per million at 300,000 msgs/s over eight
// connections (bench/profiles/disk.md). The file still gets every record;
// this only spares reading it back. What does not fit (a reader behind by
// more than recentMaxEvents or recentMaxBytes: a burst, an outage) and
// whatever was appended before a restart is read from the file, as before.
const (
	recentMaxEvents = 8192
	recentMaxBytes  = 8 << 20 // Raw bytes held
)

// recentEvents is a queue of appended records by position, oldest first,
// guarded by WAL.mu. Appenders add at the tail; the one reader (readSem)
// takes a window from the head under the lock, uses it without the lock
// and drops what it consumed under the lock again. Only the reader
// compacts, so a window stays valid while appenders add.
type recentEvents struct {
	items []recentItem
	head  int
	raw   int64 // Raw bytes of items[head:]
	// paused: an append found no room, so the reader is far behind; keep
	// nothing until it has caught up with the writers (caughtUp), or the
	// events kept would wait in memory for the reader to come through
	// the gap, read from the file, for nothing.
	paused bool
}

// recentItem is one record: where it is and its event, which is exactly
// what decoding the record would give (rememberable checks that).
type recentItem struct {
	seq  uint64
	off  int64
	size int
	ev   *event.Event
}

// rememberable says ev holds nothing its record does not: only the
// input's fields are set (a Document, an ID or the parser's fields are not
// written to the record). add makes Received what decoding gives.
func rememberable(ev *event.Event) bool {
	return ev.ID == "" && ev.Document == nil && ev.Format == 0 && !ev.ParseFailed && !ev.Malformed &&
		ev.Version == 0 && ev.Priority == 0 && ev.Timestamp.IsZero() && ev.TimestampRaw == "" &&
		ev.Hostname == "" && ev.Program == "" && ev.PID == "" && ev.MsgID == "" &&
		ev.StructuredData == nil && ev.Message == ""
}

// add remembers ev at (seq, off) if there is room and it qualifies; false
// when it did not (the caller stops adding for this append, so the queue
// stays in log order without gaps inside one append).
func (r *recentEvents) add(seq uint64, off int64, size int, ev *event.Event) bool {
	if r.paused {
		return false
	}
	if len(r.items)-r.head >= recentMaxEvents || r.raw+int64(len(ev.Raw)) > recentMaxBytes {
		r.paused = true
		return false
	}
	if !rememberable(ev) {
		return false
	}
	// The record holds Received as Unix nanoseconds: the same instant
	// without the monotonic reading and in time.Local, as decoded.
	if !ev.Received.IsZero() {
		ev.Received = time.Unix(0, ev.Received.UnixNano())
	}
	r.items = append(r.items, recentItem{seq: seq, off: off, size: size, ev: ev})
	r.raw += int64(len(ev.Raw))
	return true
}

// window drops the items before (seq, off), which the reader has passed,
// and returns those of segment seq in [off, end), at most max, oldest
// first. The caller holds the lock; the slice stays valid without it.
func (r *recentEvents) window(seq uint64, off, end int64, max int) []recentItem {
	r.dropBefore(seq, off)
	n := 0
	for _, it := range r.items[r.head:] {
		if it.seq != seq || it.off >= end || n == max {
			break
		}
		n++
	}
	return r.items[r.head : r.head+n : r.head+n]
}

// dropBefore forgets the items before (seq, off).
func (r *recentEvents) dropBefore(seq uint64, off int64) {
	for r.head < len(r.items) {
		it := &r.items[r.head]
		if cmpPos(it.seq, it.off, seq, off) >= 0 {
			break
		}
		r.raw -= int64(len(it.ev.Raw))
		*it = recentItem{}
		r.head++
	}
	if r.head == len(r.items) {
		r.items, r.head = r.items[:0], 0
	} else if r.head >= recentMaxEvents {
		n := copy(r.items, r.items[r.head:])
		clear(r.items[n:])
		r.items, r.head = r.items[:n], 0
	}
}

// caughtUp: the reader has read everything appended; keep events again.
func (r *recentEvents) caughtUp() {
	r.paused = false
}

// reset forgets everything (Close).
func (r *recentEvents) reset() {
	clear(r.items)
	*r = recentEvents{}
}
