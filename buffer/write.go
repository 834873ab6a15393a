package buffer

import (
	"context"
	"fmt"
	"os"

	"github.com/logshipper/logshipper/event"
)

// Append writes evs to the log, in order and contiguous, as one group: only
// their input fields (Received, Transport, SourceIP, Raw, Truncated) are
// stored; the caller parses Raw again after Read. The events are copied, so
// the caller may reuse them and their buffers once Append returns.
//
// Append blocks while the group does not fit under Options.MaxBytes, until
// Ack frees space, ctx is done (ctx.Err()) or the WAL is closed (ErrClosed).
// A group always fits into an empty log. With FsyncBatch and FsyncNever the
// events are durable only after the next Commit; with FsyncAlways Append
// returns after the group is fsynced (sharing the fsync with concurrent
// appenders), and an error from ctx then means the events are in the log
// but perhaps not yet durable.
func (w *WAL) Append(ctx context.Context, evs ...*event.Event) error {
	return w.append(ctx, true, evs)
}

// TryAppend is Append that fails with ErrFull instead of blocking when the
// events do not fit under Options.MaxBytes: for UDP, where waiting would
// only move the loss into the kernel. With FsyncAlways it still waits for
// its fsync.
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
		if w.closed {
			w.mu.Unlock()
			return ErrClosed
		}
		if w.err != nil {
			err := w.err
			w.mu.Unlock()
			return err
		}
		if w.bytes == 0 || w.bytes+size <= w.opts.MaxBytes {
			break
		}
		if !block {
			w.mu.Unlock()
			return ErrFull
		}
		if w.spaceWait == nil {
			w.spaceWait = make(chan struct{})
		}
		ch := w.spaceWait
		w.mu.Unlock()
		select {
		case <-ch:
		case <-w.closedCh:
		case <-ctx.Done():
			return ctx.Err()
		}
		w.mu.Lock()
	}

	if w.active == nil || w.active.end >= w.opts.SegmentBytes {
		if err := w.rollLocked(); err != nil {
			w.mu.Unlock()
			return err
		}
		if err := w.newSegmentLocked(); err != nil {
			w.mu.Unlock()
			return err
		}
	}
	for _, ev := range evs {
		w.wbuf = appendRecord(w.wbuf, ev)
	}
	s := w.active
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
	if len(w.wbuf) >= flushAt {
		if err := w.flushLocked(); err != nil {
			w.mu.Unlock()
			return err
		}
	}
	if w.opts.Fsync == FsyncAlways {
		return w.commitLocked(ctx)
	}
	w.mu.Unlock()
	return nil
}

// Commit makes everything appended so far, by any caller, durable per the
// fsync policy: written to the segment files and, unless the policy is
// FsyncNever, fsynced together with the directory entries of new segment
// files. Concurrent callers share fsyncs (group commit): while one fsync
// runs, the callers that arrive wait and the next fsync covers them all.
// Inputs call Commit before they read more from a socket, so that an event
// counts as received only once it is on disk.
//
// It returns ctx.Err() if ctx is done while it waits for another caller's
// fsync, ErrClosed after Close, and the error of a failed write or fsync
// (which also stops the WAL: see Open for what a restart recovers).
func (w *WAL) Commit(ctx context.Context) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	return w.commitLocked(ctx)
}

// commitLocked is Commit with w.mu held; it returns with w.mu released.
func (w *WAL) commitLocked(ctx context.Context) error {
	if w.opts.Fsync == FsyncNever {
		err := w.flushLocked()
		w.mu.Unlock()
		return err
	}
	target := w.appended
	for w.synced < target {
		if w.err != nil {
			err := w.err
			w.mu.Unlock()
			return err
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
		// Lead the next group: write out everything appended by anyone and
		// fsync it without holding the lock, so appends go on meanwhile.
		if err := w.flushLocked(); err != nil {
			w.mu.Unlock()
			return err
		}
		upto := w.written
		files := make([]*os.File, 0, len(w.unsynced)+1)
		for _, u := range w.unsynced {
			files = append(files, u.f)
		}
		if w.f != nil {
			files = append(files, w.f)
		}
		dir := w.dirDirty
		w.dirDirty = false
		w.syncing = true
		w.syncDone = make(chan struct{})
		w.mu.Unlock()

		var err error
		for _, f := range files {
			if err = w.syncFile(f); err != nil {
				err = fmt.Errorf("buffer: fsync %s: %w", f.Name(), err)
				break
			}
		}
		if err == nil && dir {
			if err = w.syncDir(); err != nil {
				err = fmt.Errorf("buffer: fsync %s: %w", w.dir, err)
			}
		}

		w.mu.Lock()
		w.syncing = false
		close(w.syncDone)
		w.syncDone = nil
		if err != nil {
			w.dirDirty = w.dirDirty || dir
			w.fail(err)
			continue
		}
		w.synced = max(w.synced, upto)
		keep := w.unsynced[:0]
		for _, u := range w.unsynced {
			if u.lsn <= w.synced {
				u.f.Close()
			} else {
				keep = append(keep, u)
			}
		}
		clear(w.unsynced[len(keep):])
		w.unsynced = keep
	}
	w.mu.Unlock()
	return nil
}
