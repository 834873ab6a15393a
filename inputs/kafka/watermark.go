package kafka

import "sync"

// span is the records of one partition handed to the pipeline together
// (one PutBatch): offsets first through last.
type span struct {
	first, last int64
	epoch       int32 // leader epoch of the last record, committed with its offset
	done        bool
	failed      bool // given up downstream: the watermark never passes it
}

// watermark is one partition's contiguous acknowledgement: the spans in
// the order they were read, and the offset up to which every record is
// settled downstream (indexed, already indexed, or dead-lettered). Spans
// settle out of order (the pipeline's workers run in parallel); the
// watermark only moves over a settled prefix, so a committed offset never
// skips a record that is still on its way or was given up (vector#24215).
type watermark struct {
	mu      sync.Mutex
	spans   []*span
	settled int64 // next offset after the settled prefix; -1 before the first
	floor   int64 // first offset read since the assignment; -1 before the first
	epoch   int32
	stuck   bool // a span was given up: nothing after it is committed
	revoked bool // the partition was taken away: hand over nothing more
	// changed is closed (and replaced) whenever a span settles, for a
	// revocation waiting for the in-flight spans.
	changed chan struct{}
}

func newWatermark() *watermark {
	return &watermark{settled: -1, floor: -1, changed: make(chan struct{})}
}

// add registers the next span read; false if the partition was revoked.
func (w *watermark) add(s *span) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.revoked {
		return false
	}
	if w.floor < 0 {
		w.floor = s.first
	}
	w.spans = append(w.spans, s)
	return true
}

// drop removes a span that was never handed over (the input stopped):
// its records are read again from the committed offset.
func (w *watermark) drop(s *span) {
	w.mu.Lock()
	defer w.mu.Unlock()
	// Nothing after it may be committed either: it counts as given up.
	s.failed, s.done = true, true
	w.stuck = true
	w.notifyLocked()
}

// settle marks s done (failed: given up) and advances over the settled
// prefix. It returns the new watermark and whether it moved.
func (w *watermark) settle(s *span, failed bool) (int64, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s.done, s.failed = true, failed
	before := w.settled
	for len(w.spans) > 0 && w.spans[0].done {
		head := w.spans[0]
		if head.failed {
			w.stuck = true
			break
		}
		w.settled, w.epoch = head.last+1, head.epoch
		w.spans = w.spans[1:]
	}
	w.notifyLocked()
	return w.settled, w.settled != before
}

func (w *watermark) notifyLocked() {
	close(w.changed)
	w.changed = make(chan struct{})
}

// start is the first offset read since the assignment (-1: none yet).
func (w *watermark) start() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.floor
}

// state is the watermark, whether anything is still in flight, and a
// channel closed at the next change.
func (w *watermark) state() (settled int64, epoch int32, inFlight int, changed <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, s := range w.spans {
		if !s.done {
			n++
		}
	}
	return w.settled, w.epoch, n, w.changed
}

// revoke stops further hand-overs.
func (w *watermark) revoke() {
	w.mu.Lock()
	w.revoked = true
	w.mu.Unlock()
}
