package buffer

import (
	"context"
	"fmt"
	"time"

	"github.com/logshipper/logshipper/event"
)

// Append writes evs to the log, in order and contiguous, as one group: only
// their input fields (Received, Transport, SourceIP, ProxyIP, Raw, Truncated) are
// stored; the caller parses Raw again after Read. As Memory does, the WAL
// keeps the events it was given (recent.go: a reader close behind takes
// them instead of reading their records back): the caller must not change
// them or their Raw once Append has taken them.
//
// Append blocks while the group does not fit under Options.MaxBytes, until
// Ack frees space, and while the disk fails (see Fault), until the WAL has
// recovered; either way also until ctx is done (ctx.Err()) or the WAL is
// closed (ErrClosed). A group always fits into an empty log. With
// FsyncBatch and FsyncNever the events are durable only after the next
// Commit; with FsyncAlways Append returns after the group is fsynced
// (sharing the fsync with concurrent appenders). Once Append has taken the
// events it returns nil: if the disk fails right then, or ctx ends while
// it waits for the fsync, they are kept in memory and written when the
// disk recovers (or by Close).
func (w *WAL) Append(ctx context.Context, evs ...*event.Event) error {
	return w.append(ctx, true, evs)
}

// TryAppend is Append that fails instead of blocking: with ErrFull when
// the events do not fit under Options.MaxBytes, with a *FaultError while
// the disk fails. For UDP, where waiting would only move the loss into the
// kernel. With FsyncAlways it still waits for its fsync, unless the disk
// fails.
func (w *WAL) TryAppend(evs ...*event.Event) error {
	return w.append(context.Background(), false, evs)
}

func (w *WAL) append(ctx context.Context, block bool, evs []*event.Event) error {
	if len(evs) == 0 {
		return nil
	}
	var size int64
	for _, ev := range evs {
		n, err := recordSize(ev)
		if err != nil {
			return err
		}
		size += int64(n)
	}
	if size > maxGroupBytes {
		return fmt.Errorf("buffer: %d events of %d bytes in one Append, over the limit of %d; append fewer at once", len(evs), size, maxGroupBytes)
	}

	w.mu.Lock()
	for {
		var wait chan struct{}
		switch {
		case w.closed:
			w.mu.Unlock()
			return ErrClosed
		case w.fault != nil:
			if !block {
				err := w.fault
				w.mu.Unlock()
				return err
			}
			wait = w.faultCleared
		case w.bytes != 0 && w.bytes+size > w.opts.MaxBytes:
			if !block {
				w.mu.Unlock()
				return ErrFull
			}
			if w.spaceWait == nil {
				w.spaceWait = make(chan struct{})
			}
			wait = w.spaceWait
		case w.active == nil || w.active.end >= w.opts.SegmentBytes:
			// Either may fail (the fault is set); the loop then waits.
			if w.rollLocked() == nil {
				w.newSegmentLocked()
			}
			continue
		}
		if wait == nil {
			break
		}
		w.mu.Unlock()
		select {
		case <-wait:
		case <-w.closedCh:
		case <-ctx.Done():
			return ctx.Err()
		}
		w.mu.Lock()
	}

	s := w.active
	before := len(s.pend)
	remember := true
	for _, ev := range evs {
		n := len(s.pend)
		s.pend = appendRecord(s.pend, ev)
		if remember {
			off := s.end + int64(n-before)
			remember = w.recent.add(s.seq, off, len(s.pend)-n, ev)
		}
	}
	w.pendBytes += int64(len(s.pend) - before)
	s.end += size
	s.records += int64(len(evs))
	s.bytes += size
	w.appended += uint64(size)
	w.events += int64(len(evs))
	w.bytes += size
	if w.readWait != nil {
		close(w.readWait)
		w.readWait = nil
	}
	if s.end-s.flushed >= flushAt {
		// A failure sets the fault; the events stay in pend.
		w.flushLocked()
	}
	if w.opts.Fsync == FsyncAlways || (w.opts.Fsync == FsyncBatch && w.pendBytes > maxPending) {
		w.commitLocked(ctx, block)
		return nil
	}
	w.mu.Unlock()
	return nil
}

// Commit makes everything appended so far, by any caller, durable per the
// fsync policy: written to the segment files and, unless the policy is
// FsyncNever, fsynced together with the directory entries of new segment
// files. Concurrent callers share fsyncs (group commit): while one fsync
// runs, the callers that arrive wait and the next fsync covers them all.
// Inputs call Commit (or CommitSoon and WaitCommitted) before they take in
// more from a socket, so that an event counts as received only once it is
// on disk.
//
// While the disk fails, Commit waits until the WAL has recovered and
// written everything (that is what stops TCP reads on a full disk). It
// returns ctx.Err() if ctx is done first, and ErrClosed after Close.
func (w *WAL) Commit(ctx context.Context) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	return w.commitLocked(ctx, true)
}

// A Mark is a point in the log: what was appended before CommitSoon
// returned it.
type Mark uint64

// CommitSoon is a Commit that does not wait for the disk: it writes what
// was appended so far, by any caller, to the segment files at once (from
// then on it survives a crash of the process) and has it fsynced within
// Options.CommitDelay, in one fsync with whatever else is appended and
// committed until then, unless a Commit or WaitCommitted fsyncs it first.
// It returns the mark to pass to WaitCommitted.
//
// A TCP connection calls it before it waits for more data, and
// WaitCommitted once the data has come, before it hands over more events:
// a quiet connection's last events are fsynced together with the other
// quiet connections' instead of one fsync per read (an fsync costs this
// process ~40 µs of CPU on a virtual disk; bench/profiles/disk.md), and a
// busy one still waits for the disk before each hand-over, the fsync now
// overlapping its read.
func (w *WAL) CommitSoon() Mark {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := Mark(w.appended)
	if w.closed || w.synced >= w.appended {
		return m
	}
	if w.fault != nil || w.flushLocked() != nil {
		return m // WaitCommitted waits out the fault
	}
	if w.opts.Fsync == FsyncNever {
		w.synced = w.appended
		return m
	}
	if !w.commitArmed {
		w.commitArmed = true
		if w.commitTimer == nil {
			w.commitTimer = time.AfterFunc(w.opts.CommitDelay, w.delayedCommit)
		} else {
			w.commitTimer.Reset(w.opts.CommitDelay)
		}
	}
	return m
}

// delayedCommit is CommitSoon's fsync, run by its timer.
func (w *WAL) delayedCommit() {
	w.mu.Lock()
	w.commitArmed = false
	if w.closed {
		w.mu.Unlock()
		return // Close wrote and fsynced everything
	}
	// On a failing disk nothing waits here: the monitor's repair fsyncs.
	w.commitToLocked(context.Background(), w.appended, false)
}

// WaitCommitted returns once everything appended before m is durable per
// the fsync policy, fsyncing now (shared with concurrent committers, as
// Commit does) if CommitSoon's fsync has not come yet. Like Commit it
// waits out a failing disk, returns ctx.Err() if ctx is done first, and
// ErrClosed after Close.
func (w *WAL) WaitCommitted(ctx context.Context, m Mark) error {
	w.mu.Lock()
	if w.synced >= uint64(m) {
		w.mu.Unlock()
		return nil
	}
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	return w.commitToLocked(ctx, uint64(m), true)
}

// commitLocked is Commit with w.mu held; it returns with w.mu released.
// With wait false it returns nil instead of waiting out a fault.
func (w *WAL) commitLocked(ctx context.Context, wait bool) error {
	return w.commitToLocked(ctx, w.appended, wait)
}

// commitToLocked is commitLocked for what was appended before target.
func (w *WAL) commitToLocked(ctx context.Context, target uint64, wait bool) error {
	for w.synced < target {
		if w.fault != nil {
			if !wait {
				break
			}
			ch := w.faultCleared
			w.mu.Unlock()
			select {
			case <-ch:
			case <-w.closedCh:
				return ErrClosed
			case <-ctx.Done():
				return ctx.Err()
			}
			w.mu.Lock()
			continue
		}
		if w.syncing {
			ch := w.syncDone
			w.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return ctx.Err()
			}
			w.mu.Lock()
			continue
		}
		if w.flushLocked() != nil {
			continue // the fault is set
		}
		if w.opts.Fsync == FsyncNever {
			w.synced = w.appended
			break
		}
		// Lead the next group: fsync everything written by anyone without
		// holding the lock, so appends go on meanwhile.
		upto := w.appended
		items := w.unsyncedLocked()
		dir := w.dirDirty
		w.dirDirty = false
		w.syncing = true
		w.syncDone = make(chan struct{})
		w.mu.Unlock()

		failed, err := w.syncItems(items, dir)

		w.mu.Lock()
		w.syncing = false
		close(w.syncDone)
		w.syncDone = nil
		if err != nil {
			w.dirDirty = w.dirDirty || dir
			for _, it := range items {
				if it.s.synced < it.s.flushed {
					it.s.rewrite = true
				}
			}
			w.setFaultLocked("fsync", failed, err)
			continue
		}
		for _, it := range items {
			w.markSyncedLocked(it.s, it.upto)
		}
		w.synced = max(w.synced, upto)
		w.closeRetiredLocked()
	}
	w.mu.Unlock()
	return nil
}

// unsyncedLocked lists the segment files with bytes written but not
// fsynced.
func (w *WAL) unsyncedLocked() []syncItem {
	var items []syncItem
	for _, s := range w.segs {
		if s.synced < s.flushed {
			items = append(items, syncItem{s, s.f, s.flushed})
		}
	}
	return items
}

// syncItems fsyncs the files, then the directory if dir; on failure it
// returns the path that failed.
func (w *WAL) syncItems(items []syncItem, dir bool) (string, error) {
	for _, it := range items {
		if err := w.syncFile(it.f); err != nil {
			return it.s.path, err
		}
	}
	if dir {
		if err := w.syncDir(); err != nil {
			return w.dir, err
		}
	}
	return "", nil
}

// waitSyncLocked waits until no group commit leader is in fsync.
func (w *WAL) waitSyncLocked() {
	for w.syncing {
		ch := w.syncDone
		w.mu.Unlock()
		<-ch
		w.mu.Lock()
	}
}
